"""What both plugins share as commands: checked settings, one-line fatal errors."""

from __future__ import annotations

import contextlib
import sys
import typing as t

from singer_sdk.plugin_base import PluginBase

from hubspot_courses.errors import ConfigValidationError, HubSpotAPIError
from hubspot_courses.settings import check_settings

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Iterator

__all__ = ["HubSpotPlugin", "fatal_errors"]


@contextlib.contextmanager
def fatal_errors(logger: logging.Logger, *also: type[Exception]) -> Iterator[None]:
    """End the run with one clear line and exit status 1 for user-fixable errors.

    HubSpot's refusals (token, scopes, activation, retries exhausted), unusable
    settings and the plugin's own errors in ``also`` already say what failed
    and what to change; a stack trace would add nothing. Their messages never
    carry a token.
    """
    fixable: tuple[type[Exception], ...] = (HubSpotAPIError, *also)
    try:
        yield
    except fixable as exc:
        logger.error("%s", exc)
        sys.exit(1)
    except ConfigValidationError as exc:
        for error in exc.errors or [str(exc)]:
            logger.error("%s", error)
        sys.exit(1)


class HubSpotPlugin(PluginBase):
    """The command-line behaviour the tap and the target share.

    Settings get the checks their schema cannot express before any request,
    and a run ends on a user-fixable error with one line instead of a trace.
    """

    FATAL_ERRORS: t.ClassVar[tuple[type[Exception], ...]] = ()
    """The plugin's own errors that end a run with one line, besides HubSpot's."""

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Also check what the schema cannot, before any request.

        Raises:
            ConfigValidationError: for a date-time setting that does not parse.
        """
        errors = super()._validate_config(raise_errors=raise_errors)
        if raise_errors:
            check_settings(self.config, self.config_jsonschema, self.logger)
        return errors

    @classmethod
    @override
    def invoke(
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        **kwargs: t.Any,
    ) -> None:
        with cls._fatal_errors():
            super().invoke(about=about, about_format=about_format, **kwargs)

    @classmethod
    def _fatal_errors(cls) -> contextlib.AbstractContextManager[None]:
        """End the run with one clear line for errors the user must fix."""
        return fatal_errors(cls.logger, *cls.FATAL_ERRORS)
