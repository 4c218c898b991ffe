"""HubSpot knowledge shared by tap-hubspot-courses and target-hubspot-courses.

One place for what both plugins must agree on: API paths, authentication,
rate limits and retries (:mod:`.client`), error classification
(:mod:`.errors`) and property definitions with their value conversions
(:mod:`.properties`).
"""

COURSES_OBJECT_TYPE_ID = "0-410"
"""HubSpot's object type id for courses."""

COURSES_OBJECT_NAME = "courses"
"""The name HubSpot accepts for courses in API paths."""
