"""Settings checked before either plugin sends a request."""

from __future__ import annotations

import logging

import pytest

from hubspot_courses.errors import ConfigValidationError
from hubspot_courses.settings import check_settings
from tap_hubspot_courses.tap import TapHubSpotCourses
from target_hubspot_courses.target import TargetHubSpotCourses

# Nothing listens on port 9 (discard): a request would fail, not hang.
UNREACHABLE = {"access_token": "pat-unused", "api_url": "http://127.0.0.1:9"}


@pytest.mark.parametrize("value", ["yesterday", "2025-13-45", "31/01/2026"])
def test_unparsable_start_date_names_the_setting_and_the_format(value) -> None:
    with pytest.raises(ConfigValidationError) as caught:
        TapHubSpotCourses(config={**UNREACHABLE, "start_date": value})

    message = str(caught.value)
    assert f"'start_date' is not an ISO-8601 date or date-time: '{value}'" in message
    assert "2026-01-31T09:30:00Z" in message


@pytest.mark.parametrize(
    ("plugin", "setting", "value"),
    [
        (TapHubSpotCourses, "max_retries", -1),
        (TapHubSpotCourses, "rate_limit_requests", 0),
        (TapHubSpotCourses, "request_timeout", 0),
        (TapHubSpotCourses, "search_lag_seconds", -5),
        (TargetHubSpotCourses, "max_rejects", -1),
        (TargetHubSpotCourses, "mirror_max_archive_fraction", 5),
        (TargetHubSpotCourses, "max_concurrent_requests", 0),
    ],
)
def test_out_of_range_numbers_are_refused_naming_the_setting(
    plugin, setting, value
) -> None:
    with pytest.raises(ConfigValidationError) as caught:
        plugin(config={**UNREACHABLE, setting: value})

    assert any(setting in error for error in caught.value.errors)


def test_misspelled_setting_is_named_with_its_closest_match(caplog) -> None:
    config = {**UNREACHABLE, "start_dat": "2026-01-01", "colour": "red"}

    check_settings(config, TapHubSpotCourses.config_jsonschema, logging.getLogger())

    assert "Ignoring unknown setting 'start_dat'; did you mean 'start_date'?" in (
        caplog.text
    )
    assert "Ignoring unknown setting 'colour'." in caplog.text
