"""The one HTTP client both plugins use to talk to HubSpot.

It owns the base URL and API version, authentication, pacing under the rate
limits, retries with backoff and jitter, and the classification of every
HTTP outcome into a result, a retry or an error from :mod:`.errors`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import random
import re
import threading
import time
import typing as t
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from hubspot_courses import COURSES_OBJECT_NAME, COURSES_OBJECT_TYPE_ID
from hubspot_courses.auth import from_config
from hubspot_courses.errors import (
    AuthenticationError,
    ConfigValidationError,
    DailyLimitError,
    HubSpotAPIError,
    MissingScopesError,
    NotFoundError,
    ObjectNotActivatedError,
    RetriesExhausted,
)
from hubspot_courses.ratelimit import RollingWindowLimiter

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Mapping

__all__ = ["ApiPaths", "ApiResponse", "ClientStats", "HubSpotClient"]

DEFAULT_API_URL = "https://api.hubapi.com"
DEFAULT_API_VERSION = "2026-03"

RETRIABLE_STATUSES = frozenset({423, 429, 477, 500, 502, 503, 504, *range(520, 527)})
"""Statuses HubSpot documents as transient: locked, throttled, overloaded."""

SEARCH_REQUESTS_PER_SECOND = 5
"""HubSpot's CRM search limit per account, separate from the burst limit."""

_DATE_VERSION = re.compile(r"^\d{4}-\d{2}$")


class ApiPaths:
    """Paths of the courses endpoints in one of HubSpot's path families.

    ``2026-03`` style date versions use ``/crm/objects/{version}/courses``;
    ``v3`` uses ``/crm/v3/objects/courses`` with ``/crm/v4`` associations.
    """

    def __init__(self, version: str) -> None:
        """Select the path family for ``version`` (``2026-03`` or ``v3``).

        Raises:
            ConfigValidationError: for any other version string.
        """
        if version != "v3" and not _DATE_VERSION.match(version):
            raise ConfigValidationError(
                f"api_version '{version}' is not a HubSpot API version: use a "
                "date version such as '2026-03', or 'v3'."
            )
        self.version = version
        self.dated = version != "v3"

    def objects(self, suffix: str = "") -> str:
        """Path of the courses object endpoints, plus ``suffix``."""
        if self.dated:
            return f"/crm/objects/{self.version}/{COURSES_OBJECT_NAME}{suffix}"
        return f"/crm/v3/objects/{COURSES_OBJECT_NAME}{suffix}"

    def properties(self, suffix: str = "") -> str:
        """Path of the courses property definitions."""
        if self.dated:
            return f"/crm/properties/{self.version}/{COURSES_OBJECT_NAME}{suffix}"
        return f"/crm/v3/properties/{COURSES_OBJECT_NAME}{suffix}"

    def associations(self, to_type: str, suffix: str = "") -> str:
        """Path of the batch association endpoints from courses to ``to_type``."""
        if self.dated:
            family = f"/crm/associations/{self.version}"
        else:
            family = "/crm/v4/associations"
        return f"{family}/{COURSES_OBJECT_NAME}/{to_type}{suffix}"

    def enablement(self) -> str:
        """Path of the object-library activation check for courses."""
        version = self.version if self.dated else DEFAULT_API_VERSION
        return f"/crm/object-library/{version}/enablement/{COURSES_OBJECT_TYPE_ID}"

    def token(self) -> str:
        """Path of the OAuth token endpoint matching this family."""
        return f"/oauth/{self.version}/token" if self.dated else "/oauth/v1/token"


@dataclasses.dataclass(frozen=True)
class ApiResponse:
    """A successful HubSpot answer."""

    status: int
    body: t.Any
    headers: Mapping[str, str]


@dataclasses.dataclass
class ClientStats:
    """Counters for the run summary and the benchmarks."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    by_status: dict[int, int] = dataclasses.field(default_factory=dict)
    _lock: threading.Lock = dataclasses.field(
        default_factory=threading.Lock, repr=False, compare=False
    )

    def count(self, status: int) -> None:
        """Book one answered (or failed, status 0) request."""
        with self._lock:
            self.requests += 1
            self.by_status[status] = self.by_status.get(status, 0) + 1
            if status == 429:
                self.throttled += 1

    def count_retry(self) -> None:
        """Book one retry."""
        with self._lock:
            self.retries += 1


class _Transient(Exception):
    """An outcome worth another attempt."""

    def __init__(self, status: int, reason: str, body: t.Any = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.body = body


def check_api_url(api_url: str) -> str:
    """Return ``api_url`` without a trailing slash, refusing unsafe URLs.

    Plain ``http`` would carry the token in clear text, so it is accepted
    only for loopback hosts (a local sandbox).

    Raises:
        ConfigValidationError: for a non-HTTP(S) URL or plain HTTP elsewhere.
    """
    parts = urlsplit(api_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigValidationError(
            f"api_url '{api_url}' is not an http(s) URL; use "
            f"'{DEFAULT_API_URL}' for HubSpot."
        )
    if parts.query or parts.fragment:
        raise ConfigValidationError(
            "api_url must not carry a query string or fragment; give the base URL only."
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigValidationError(
            f"api_url '{parts.scheme}://{parts.hostname}' would send the token "
            "over plain HTTP; use https:// (plain http is accepted only for "
            "127.0.0.1, ::1 and localhost)."
        )
    return api_url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HubSpotClient:
    """Sends requests to HubSpot's courses endpoints, paced and retried.

    One instance is shared by every stream, sink and thread of a plugin run,
    so they share one rate-limit budget.
    """

    def __init__(
        self,
        config: Mapping[str, t.Any],
        logger: logging.Logger,
        *,
        user_agent: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Create a client from a plugin's settings.

        Raises:
            ConfigValidationError: when the settings cannot work.
        """
        self.logger = logger
        self.api_url = check_api_url(str(config.get("api_url") or DEFAULT_API_URL))
        self.paths = ApiPaths(str(config.get("api_version") or DEFAULT_API_VERSION))
        self.timeout = float(config.get("request_timeout") or 60)
        self.max_retries = int(config.get("max_retries", 8))
        self.max_retry_seconds = float(config.get("max_retry_seconds") or 900)
        self.retry_initial_delay = float(config.get("retry_initial_delay", 1.0))
        self.retry_max_delay = float(config.get("retry_max_delay", 60.0))
        self._sleep = sleep
        self._random = random.Random()  # noqa: S311 - jitter, not security

        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept"] = "application/json"
        self.session.verify = True

        token_url = self.api_url + self.paths.token()
        if config.get("token_url"):
            token_url = str(config["token_url"])
            parts = urlsplit(token_url)
            check_api_url(f"{parts.scheme}://{parts.netloc}")
        self.credentials = from_config(
            config,
            token_url=token_url,
            session=self.session,
            timeout=self.timeout,
            logger=logger,
        )
        self.limiter = RollingWindowLimiter(
            int(config.get("rate_limit_requests") or 100),
            10.0,
            sleep=sleep,
        )
        self.search_limiter = RollingWindowLimiter(
            SEARCH_REQUESTS_PER_SECOND,
            1.1,
            headroom=0,
            learn_from_headers=False,
            sleep=sleep,
        )
        self.stats = ClientStats()

    def url(self, path: str) -> str:
        """Absolute URL of ``path``."""
        return self.api_url + path

    def url_length(self, path: str, params: Mapping[str, t.Any]) -> int:
        """Length of the request target ``path?query`` once encoded."""
        prepared = requests.Request(
            "GET", self.url(path), params=_encode_params(params)
        ).prepare()
        target = prepared.path_url or ""
        return len(target)

    def get(self, path: str, params: Mapping[str, t.Any] | None = None) -> t.Any:
        """GET ``path`` and return its JSON body."""
        return self.request("GET", path, params=params).body

    def post(
        self,
        path: str,
        body: t.Any,
        *,
        search: bool = False,
        idempotent: bool = True,
        params: Mapping[str, t.Any] | None = None,
    ) -> ApiResponse:
        """POST a JSON ``body`` to ``path``."""
        return self.request(
            "POST",
            path,
            params=params,
            json=body,
            search=search,
            idempotent=idempotent,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, t.Any] | None = None,
        json: t.Any = None,
        search: bool = False,
        idempotent: bool = True,
    ) -> ApiResponse:
        """Send one logical request, retrying transient failures.

        Args:
            method: HTTP method.
            path: path below ``api_url``, without query string.
            params: query parameters; list values are sent comma-separated.
            json: JSON body.
            search: a CRM search request (its own 5 per second limit).
            idempotent: whether repeating the request is harmless. A request
                that creates records is retried only when HubSpot surely did
                not process it (429, connection refused).

        Returns:
            The successful response, its body parsed (``None`` for 204).

        Raises:
            HubSpotAPIError: for a refused request, or when retries run out.
        """
        started = time.monotonic()
        query = _encode_params(params or {})
        attempt = 0
        throttled = 0
        refreshed = False
        while True:
            attempt += 1
            (self.search_limiter if search else self.limiter).acquire()
            authorization = self.credentials.authorization()
            try:
                response = self._send(method, path, query, json, authorization)
            except _Transient as transient:
                if not idempotent and transient.status != 429:
                    raise RetriesExhausted(
                        status=transient.status,
                        method=method,
                        path=path,
                        body=transient.body,
                        attempts=attempt,
                        reason=f"{transient.reason}; not repeated because the "
                        "request creates records",
                    ) from None
                wait = self._backoff(attempt, transient)
                # A ten-secondly 429 says "wait for the window", not "broken":
                # a storm of them is bounded by the deadline, not the count.
                throttled += transient.status == 429
                if (
                    attempt - throttled > self.max_retries
                    or time.monotonic() + wait - started > self.max_retry_seconds
                ):
                    raise RetriesExhausted(
                        status=transient.status,
                        method=method,
                        path=path,
                        body=transient.body,
                        attempts=attempt,
                        reason=transient.reason,
                    ) from None
                self.stats.count_retry()
                self.logger.warning(
                    "Retrying %s '%s' in %.1f s after %s (attempt %d of %d).",
                    method,
                    path,
                    wait,
                    transient.reason,
                    attempt + 1,
                    self.max_retries + 1,
                )
                self._sleep(wait)
                continue
            except AuthenticationError:
                # An OAuth access token can expire mid-run: refresh it once.
                if not refreshed and self.credentials.expired(authorization):
                    refreshed = True
                    self.logger.info("HubSpot refused the access token; refreshing.")
                    continue
                raise
            return response

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        json: t.Any,
        authorization: str,
    ) -> ApiResponse:
        try:
            response = self.session.request(
                method,
                self.url(path),
                params=query,
                json=json,
                headers={"Authorization": authorization},
                timeout=(min(10.0, self.timeout), self.timeout),
            )
        except requests.Timeout:
            self.stats.count(0)
            raise _Transient(0, f"no answer within {self.timeout:g} s") from None
        except requests.ConnectionError as exc:
            self.stats.count(0)
            raise _Transient(0, f"connection failed ({_cause(exc)})") from None
        except requests.RequestException as exc:
            self.stats.count(0)
            raise _Transient(0, f"transfer failed ({type(exc).__name__})") from None

        status = response.status_code
        self.stats.count(status)
        if status != 429:
            self.limiter.observe(response.headers)
        body = _parse_body(response)
        if 200 <= status < 300:
            if body is _MALFORMED:
                raise _Transient(status, "a malformed JSON body")
            return ApiResponse(status, body, response.headers)
        error_body = body if isinstance(body, dict) else None
        if status == 429:
            policy = str((error_body or {}).get("policyName") or "")
            if policy.upper() == "DAILY":
                raise DailyLimitError(
                    status=status, method=method, path=path, body=error_body
                )
            raise _Transient(status, f"429 {policy or 'rate limit'}", error_body)
        if status in RETRIABLE_STATUSES:
            raise _Transient(status, f"HTTP {status}", error_body)
        raise _classify(status, method, path, error_body)

    def _backoff(self, attempt: int, transient: _Transient) -> float:
        """Seconds to wait before the next attempt.

        Exponential from ``retry_initial_delay`` with jitter; after a 429 the
        shared limiter also holds every other thread back, since the whole
        window is spent.
        """
        base = min(self.retry_max_delay, self.retry_initial_delay * 2 ** (attempt - 1))
        wait = base * (0.5 + self._random.random() / 2)
        if transient.status == 429:
            wait = max(wait, min(self.limiter.interval / 2, self.retry_max_delay))
            self.limiter.block_for(wait)
        return wait

    def check_access(self) -> None:
        """Fail fast when the token cannot read courses.

        Checks that the courses object is activated and that the token may
        read course property definitions.

        Raises:
            ObjectNotActivatedError: courses are not activated in the account.
            HubSpotAPIError: the token or its scopes are refused.
        """
        try:
            enablement = self.get(self.paths.enablement())
        except NotFoundError:
            enablement = None
        if isinstance(enablement, dict) and enablement.get("enablement") is False:
            raise ObjectNotActivatedError(
                status=200, method="GET", path=self.paths.enablement()
            )


_MALFORMED = object()


def _parse_body(response: requests.Response) -> t.Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return _MALFORMED


def _cause(exc: BaseException) -> str:
    """Name the innermost cause of a connection failure, without URLs."""
    inner: BaseException = exc
    while inner.__context__ is not None or inner.__cause__ is not None:
        inner = t.cast("BaseException", inner.__cause__ or inner.__context__)
    return type(inner).__name__


def _classify(
    status: int, method: str, path: str, body: dict[str, t.Any] | None
) -> HubSpotAPIError:
    category = str((body or {}).get("category") or "")
    kind: type[HubSpotAPIError] = HubSpotAPIError
    if status == 401:
        kind = AuthenticationError
    elif category == "MISSING_SCOPES":
        kind = MissingScopesError
    elif "NOT_ACTIVATED" in category or "not activated" in str(
        (body or {}).get("message", "")
    ):
        kind = ObjectNotActivatedError
    elif status == 404:
        kind = NotFoundError
    return kind(status=status, method=method, path=path, body=body)


def _encode_params(params: Mapping[str, t.Any]) -> dict[str, str]:
    encoded: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            encoded[key] = ",".join(str(item) for item in value)
        elif isinstance(value, bool):
            encoded[key] = "true" if value else "false"
        else:
            encoded[key] = str(value)
    return encoded
