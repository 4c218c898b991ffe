"""Deterministic seed data for a sandbox portal."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hubspot_sandbox.definitions import (
    DELIVERY_OPTIONS,
    STAGE_OPTIONS,
    TOPIC_OPTIONS,
    custom_seed_properties,
)
from hubspot_sandbox.store import AssociationType, Course, HistoryEntry, Store
from hubspot_sandbox.values import format_instant

SEED_BASE = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
"""Creation instant of the first seeded course; nothing depends on wall time."""

BULK_TOUCH_AT = datetime(2026, 2, 2, 2, 2, 2, 222_000, tzinfo=UTC)
"""The shared last-modified instant of courses touched by ``bulk_touch_count``."""

INSTRUCTOR_LABEL = AssociationType("USER_DEFINED", 350, "Instructor")
"""The labelled course-to-contact association type seeding adds."""

FIRST_CONTACT_ID = 5_000_001
FIRST_COMPANY_ID = 7_000_001
FIRST_HEAVY_CONTACT_ID = 9_000_001
LONG_DESCRIPTION_LENGTH = 20_000

_PREFIXES = (
    "Intro to",
    "Advanced",
    "Foundations of",
    "Mastering",
    "Café talk:",
    "Über",
    "日本語で学ぶ",
    "Введение в",
    "Practical",
    "Señor's guide to",
)
_SUBJECTS = (
    "Forklift Safety",
    "Data Literacy",
    "Négociation",
    "Leadership 🚀",
    "First Aid ⛑️",
    "Python",
    "Spreadsheets",
    "Customer Care 💬",
    "Compliance",
    "Mindfulness 🧘",
    "Öffentliches Reden",
    "Welding",
)
_USERS = (1101, 1102, 1103)


@dataclass
class SeedSummary:
    """What :func:`seed_portal` created.

    Attributes:
        course_ids: Ids of every seeded course, ascending.
        archived_ids: Ids of the seeded courses that are archived.
        heavy_ids: Ids of the courses holding ``heavy_association_count``
            contacts.
        bulk_touched_ids: Ids whose last-modified instant is ``BULK_TOUCH_AT``.
        contact_ids: Ids of the ordinary contacts used for associations.
        company_ids: Ids of the companies used for associations.
    """

    course_ids: list[str] = field(default_factory=list)
    archived_ids: list[str] = field(default_factory=list)
    heavy_ids: list[str] = field(default_factory=list)
    bulk_touched_ids: list[str] = field(default_factory=list)
    contact_ids: list[str] = field(default_factory=list)
    company_ids: list[str] = field(default_factory=list)


def seed_portal(
    store: Store,
    courses: int = 500,
    seed: int = 7,
    *,
    archived_fraction: float = 0.05,
    edit_fraction: float = 0.6,
    max_contacts_per_course: int = 4,
    company_fraction: float = 0.7,
    labelled_fraction: float = 0.1,
    heavy_association_courses: int = 2,
    heavy_association_count: int = 1000,
    bulk_touch_count: int = 0,
    base: datetime = SEED_BASE,
) -> SeedSummary:
    """Fill a store with reproducible courses, history and associations.

    The same arguments always give the same records, ids, values and
    timestamps. It adds the custom properties of
    :func:`hubspot_sandbox.definitions.custom_seed_properties` first.

    Args:
        store: The store to fill (usually empty).
        courses: How many courses to create.
        seed: Seed of the random generator.
        archived_fraction: Share of courses archived.
        edit_fraction: Share of courses with later edits (history entries).
        max_contacts_per_course: Ordinary courses get 0..N contacts.
        company_fraction: Share of courses with one company.
        labelled_fraction: Share of contact associations that also carry the
            USER_DEFINED "Instructor" label (type 350).
        heavy_association_courses: How many active courses hold
            ``heavy_association_count`` contacts each.
        heavy_association_count: Contacts on each heavy course.
        bulk_touch_count: How many of the newest active courses share the last
            modified instant ``BULK_TOUCH_AT``, as after a HubSpot bulk update.
        base: Creation instant of the first course.

    Returns:
        A summary of what was created.
    """
    rng = random.Random(seed)  # noqa: S311 - deterministic test data
    summary = SeedSummary()
    stage_values = [value for value, _ in STAGE_OPTIONS]
    delivery_values = [value for value, _ in DELIVERY_OPTIONS]
    topic_values = [value for value, _ in TOPIC_OPTIONS]
    contact_pool = max(50, courses * 2)
    editable = (
        "hs_pipeline_stage",
        "price",
        "hs_enrollment_capacity",
        "hs_course_description",
        "delivery_format",
        "topics",
    )

    with store.lock:
        for definition in custom_seed_properties():
            if definition["name"] not in store.properties:
                store.add_property(definition)
        if INSTRUCTOR_LABEL not in store.association_labels["contacts"]:
            store.association_labels["contacts"].append(INSTRUCTOR_LABEL)
        offset = len(store.courses)
        heavy_positions = set(
            rng.sample(range(courses), min(heavy_association_courses, courses))
        )

        for position in range(courses):
            number = offset + position
            created = base + timedelta(
                minutes=23 * position, milliseconds=rng.randrange(60_000)
            )
            name = f"{rng.choice(_PREFIXES)} {rng.choice(_SUBJECTS)}"
            if position % 97 == 0:
                name += f" ✨ (Level {position % 5 + 1})"
            props = {
                "hs_course_name": name,
                "hs_course_id": f"C-{number:05d}",
                "external_course_id": f"LMS-{number:06d}",
                "hs_pipeline": "default",
                "hs_pipeline_stage": rng.choice(stage_values),
                "hs_enrollment_capacity": str(rng.choice((10, 12, 20, 25, 50, 120))),
                "course_start_date": (created + timedelta(days=rng.randrange(10, 90)))
                .date()
                .isoformat(),
                "enrollment_opens_at": format_instant(
                    created + timedelta(days=rng.randrange(1, 9), hours=9)
                ),
                "is_certified": rng.choice(("true", "false")),
                "price": _price(rng),
                "delivery_format": rng.choice(delivery_values),
                "topics": ";".join(
                    sorted(rng.sample(topic_values, rng.randrange(1, 4)))
                ),
                "instructor_email": f"trainer{rng.randrange(1, 40)}@example.com",
                "rating": f"{rng.randrange(10, 51) / 10:.1f}",
                "hs_object_source": "IMPORT",
                "hs_object_source_label": "IMPORT",
            }
            if position % 50 == 7:
                props["hs_course_description"] = (
                    "Très long descriptif — " * LONG_DESCRIPTION_LENGTH
                )[:LONG_DESCRIPTION_LENGTH]
            elif position % 4:
                props["hs_course_description"] = f"About {name}."
            for optional in ("price", "instructor_email", "course_start_date"):
                if rng.random() < 0.08:
                    del props[optional]

            history: dict[str, list[HistoryEntry]] = {
                key: [HistoryEntry(value, created, "IMPORT", f"import:{seed}")]
                for key, value in props.items()
            }
            updated = created
            if rng.random() < edit_fraction:
                moment = created
                for _ in range(rng.randrange(1, 4)):
                    moment += timedelta(
                        hours=rng.randrange(1, 24 * 20),
                        milliseconds=rng.randrange(1000),
                    )
                    key = rng.choice(editable)
                    value = _edited_value(
                        rng, key, stage_values, delivery_values, topic_values
                    )
                    user = rng.choice(_USERS)
                    entry = HistoryEntry(
                        value, moment, "CRM_UI", f"userId:{user}", None, user
                    )
                    history.setdefault(key, []).insert(0, entry)
                    if value:
                        props[key] = value
                    else:
                        props.pop(key, None)
                updated = moment

            course_id = store._allocate_id(rng.randrange(1, 4))
            course = Course(course_id, props, history, created, updated)
            if position not in heavy_positions and rng.random() < archived_fraction:
                course.archived = True
                course.archived_at = updated + timedelta(days=rng.randrange(1, 30))
                summary.archived_ids.append(course_id)
            store.courses[course_id] = course
            summary.course_ids.append(course_id)

            for _ in range(rng.randrange(0, max_contacts_per_course + 1)):
                contact = str(FIRST_CONTACT_ID + rng.randrange(contact_pool))
                store.associate(course_id, "contacts", contact)
                if rng.random() < labelled_fraction:
                    store.associate(
                        course_id,
                        "contacts",
                        contact,
                        INSTRUCTOR_LABEL.type_id,
                        INSTRUCTOR_LABEL.category,
                        INSTRUCTOR_LABEL.label,
                    )
            if rng.random() < company_fraction:
                company = str(FIRST_COMPANY_ID + rng.randrange(max(10, courses // 5)))
                store.associate(course_id, "companies", company)
            if position in heavy_positions:
                summary.heavy_ids.append(course_id)
                for k in range(heavy_association_count):
                    store.associate(
                        course_id, "contacts", str(FIRST_HEAVY_CONTACT_ID + k)
                    )

        if bulk_touch_count:
            archived = set(summary.archived_ids)
            active = [c for c in summary.course_ids if c not in archived]
            touched = active[-bulk_touch_count:]
            store.bulk_touch(touched, BULK_TOUCH_AT)
            summary.bulk_touched_ids = touched
        store.reindex()

    summary.contact_ids = [str(FIRST_CONTACT_ID + i) for i in range(contact_pool)]
    summary.company_ids = [
        str(FIRST_COMPANY_ID + i) for i in range(max(10, courses // 5))
    ]
    return summary


def _price(rng: random.Random) -> str:
    whole = rng.randrange(0, 900)
    return f"{whole}.{rng.randrange(0, 100):02d}"


def _edited_value(
    rng: random.Random,
    key: str,
    stages: list[str],
    deliveries: list[str],
    topics: list[str],
) -> str:
    if key == "hs_pipeline_stage":
        return rng.choice(stages)
    if key == "price":
        return _price(rng)
    if key == "hs_enrollment_capacity":
        return str(rng.randrange(5, 200))
    if key == "delivery_format":
        return rng.choice(deliveries)
    if key == "topics":
        return ";".join(sorted(rng.sample(topics, rng.randrange(1, 3))))
    return rng.choice(("", "Updated outline 📚", "Revised: new modules."))
