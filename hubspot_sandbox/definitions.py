"""Property definitions of the courses object, in HubSpot's ``Property`` shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DEFINITIONS_CREATED_AT = "2025-01-10T00:00:00.000Z"


def make_property(
    name: str,
    label: str,
    type_: str,
    field_type: str,
    *,
    group: str = "course_information",
    description: str = "",
    options: Sequence[tuple[str, str]] = (),
    unique: bool = False,
    read_only_value: bool = False,
    calculated: bool = False,
    hubspot_defined: bool = True,
    hidden: bool = False,
    form_field: bool = False,
    display_order: int = -1,
    created_at: str = DEFINITIONS_CREATED_AT,
) -> dict[str, Any]:
    """Build a property definition as the properties API returns it.

    Args:
        name: Internal name.
        label: Display label.
        type_: ``string``, ``number``, ``bool``, ``date``, ``datetime``,
            ``enumeration`` ...
        field_type: ``text``, ``textarea``, ``number``, ``select``, ``checkbox``,
            ``booleancheckbox``, ``date``, ``calculation_equation`` ...
        group: Property group name.
        description: Description text.
        options: ``(value, label)`` pairs for enumerations.
        unique: Whether values must be unique (usable as ``idProperty``).
        read_only_value: Whether API clients may not write the value.
        calculated: Whether HubSpot computes the value.
        hubspot_defined: True for HubSpot's own properties.
        hidden: Whether hidden in HubSpot's UI.
        form_field: Whether usable in forms.
        display_order: Display order, -1 for "after the ordered ones".
        created_at: Creation instant of the definition.

    Returns:
        The definition.
    """
    definition: dict[str, Any] = {
        "name": name,
        "label": label,
        "type": type_,
        "fieldType": field_type,
        "groupName": group,
        "description": description,
        "options": [
            {
                "label": option_label,
                "value": value,
                "hidden": False,
                "displayOrder": position,
            }
            for position, (value, option_label) in enumerate(options)
        ],
        "displayOrder": display_order,
        "hasUniqueValue": unique,
        "hidden": hidden,
        "formField": form_field,
        "calculated": calculated,
        "hubspotDefined": hubspot_defined,
        "externalOptions": False,
        "archived": False,
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": hubspot_defined,
            "readOnlyValue": read_only_value or calculated,
        },
        "createdAt": created_at,
        "updatedAt": created_at,
        "dataSensitivity": "non_sensitive",
    }
    if calculated:
        definition["calculationFormula"] = "sandbox_rating"
    return definition


PIPELINE_OPTIONS: tuple[tuple[str, str], ...] = (("default", "Courses pipeline"),)
STAGE_OPTIONS: tuple[tuple[str, str], ...] = (
    ("1001", "Planned"),
    ("1002", "Open for enrollment"),
    ("1003", "In progress"),
    ("1004", "Completed"),
    ("1005", "Cancelled"),
)
DELIVERY_OPTIONS: tuple[tuple[str, str], ...] = (
    ("in_person", "In person"),
    ("online", "Online (live)"),
    ("self_paced", "Self-paced"),
    ("hybrid", "Hybrid"),
)
TOPIC_OPTIONS: tuple[tuple[str, str], ...] = (
    ("safety", "Safety"),
    ("leadership", "Leadership"),
    ("data", "Data & analytics"),
    ("sales", "Sales"),
    ("compliance", "Compliance"),
    ("wellbeing", "Well-being"),
)


def hubspot_defined_properties() -> list[dict[str, Any]]:
    """Return the HubSpot-defined course properties a new portal has.

    Returns:
        Definitions of ``hs_course_name`` (required on create), ``hs_course_id``,
        ``hs_course_description``, ``hs_enrollment_capacity``, ``hs_pipeline``,
        ``hs_pipeline_stage`` and the read-only system properties.
    """
    system = "course_system"
    return [
        make_property(
            "hs_course_name",
            "Course Name",
            "string",
            "text",
            display_order=1,
            form_field=True,
        ),
        make_property("hs_course_id", "Course ID", "string", "text", display_order=2),
        make_property(
            "hs_course_description",
            "Course Description",
            "string",
            "textarea",
            display_order=3,
        ),
        make_property(
            "hs_enrollment_capacity",
            "Enrollment Capacity",
            "number",
            "number",
            display_order=4,
        ),
        make_property(
            "hs_pipeline", "Pipeline", "enumeration", "select", options=PIPELINE_OPTIONS
        ),
        make_property(
            "hs_pipeline_stage",
            "Pipeline Stage",
            "enumeration",
            "select",
            options=STAGE_OPTIONS,
        ),
        make_property(
            "hs_createdate",
            "Create Date",
            "datetime",
            "date",
            group=system,
            read_only_value=True,
        ),
        make_property(
            "hs_lastmodifieddate",
            "Last Modified Date",
            "datetime",
            "date",
            group=system,
            read_only_value=True,
        ),
        make_property(
            "hs_object_id",
            "Record ID",
            "number",
            "number",
            group=system,
            read_only_value=True,
        ),
        make_property(
            "hs_object_source",
            "Record source",
            "string",
            "text",
            group=system,
            read_only_value=True,
        ),
        make_property(
            "hs_object_source_label",
            "Record source detail",
            "string",
            "text",
            group=system,
            read_only_value=True,
        ),
        make_property(
            "hs_merged_object_ids",
            "Merged record IDs",
            "enumeration",
            "checkbox",
            group=system,
            read_only_value=True,
        ),
    ]


def custom_seed_properties() -> list[dict[str, Any]]:
    """Return the custom properties ``seed_portal`` adds.

    Returns:
        Definitions covering every HubSpot property type, including the unique
        ``external_course_id`` and the calculated, read-only ``rating``.
    """
    created = "2025-02-01T12:00:00.000Z"
    group = "course_details"

    def custom(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return make_property(
            *args, group=group, hubspot_defined=False, created_at=created, **kwargs
        )

    return [
        custom(
            "external_course_id",
            "External course ID",
            "string",
            "text",
            unique=True,
            description="Key of the course in the LMS.",
        ),
        custom("course_start_date", "Start date", "date", "date"),
        custom("enrollment_opens_at", "Enrollment opens at", "datetime", "date"),
        custom(
            "is_certified",
            "Certified",
            "bool",
            "booleancheckbox",
            options=(("true", "Yes"), ("false", "No")),
        ),
        custom("price", "Price", "number", "number"),
        custom(
            "delivery_format",
            "Delivery format",
            "enumeration",
            "select",
            options=DELIVERY_OPTIONS,
        ),
        custom("topics", "Topics", "enumeration", "checkbox", options=TOPIC_OPTIONS),
        custom("instructor_email", "Instructor email", "string", "text"),
        custom("rating", "Rating", "number", "calculation_equation", calculated=True),
    ]
