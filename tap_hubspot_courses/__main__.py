"""Run the tap with ``python -m tap_hubspot_courses``."""

from tap_hubspot_courses.tap import TapHubSpotCourses

TapHubSpotCourses.cli()
