"""Run the target as ``python -m target_hubspot_courses``."""

from target_hubspot_courses.target import TargetHubSpotCourses

TargetHubSpotCourses.cli()
