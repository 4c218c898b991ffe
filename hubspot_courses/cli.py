"""How both plugins end a run on an error the user must fix."""

from __future__ import annotations

import contextlib
import sys
import typing as t

from hubspot_courses.errors import ConfigValidationError, HubSpotAPIError

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Iterator

__all__ = ["fatal_errors"]


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
