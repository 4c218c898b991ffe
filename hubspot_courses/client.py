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
import socket
import threading
import time
import typing as t
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from hubspot_courses import COURSES_OBJECT_NAME, COURSES_OBJECT_TYPE_ID
from hubspot_courses.auth import from_config, redact_oauth_error
from hubspot_courses.errors import (
    AuthenticationError,
    ConfigValidationError,
    ConnectionFailed,
    DailyLimitError,
    HostNotFound,
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
    """An outcome worth another attempt.

    Attributes:
        status: HTTP status, 0 when nothing answered.
        reason: what happened, for logs and messages.
        body: HubSpot's error body, if any.
        host: the host that failed to answer (status 0).
        sent: whether the server may have received the request.
        unresolved: the host name did not resolve.
        cause: the innermost exception's name (and message for DNS).
    """

    def __init__(
        self,
        status: int,
        reason: str,
        body: t.Any = None,
        *,
        host: str = "",
        sent: bool = True,
        unresolved: bool = False,
        cause: str = "",
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.body = body
        self.host = host
        self.sent = sent
        self.unresolved = unresolved
        self.cause = cause


class _Unauthorized(Exception):
    """HubSpot refused ``authorization`` (401); maybe an expired OAuth token."""

    def __init__(self, error: AuthenticationError, authorization: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.authorization = authorization


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

        self.token_url = self.api_url + self.paths.token()
        self._oauth_host_setting = "api_url"
        if config.get("token_url"):
            self.token_url = str(config["token_url"])
            parts = urlsplit(self.token_url)
            check_api_url(f"{parts.scheme}://{parts.netloc}")
            self._oauth_host_setting = "token_url"
        self.credentials = from_config(
            config,
            token_path=urlsplit(self.token_url).path,
            post_form=self._post_token_form,
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
        query = _encode_params(params or {})
        limiter = self.search_limiter if search else self.limiter

        def send_once() -> ApiResponse:
            limiter.acquire()
            authorization = self.credentials.authorization()
            return self._send(method, path, query, json, authorization)

        refreshed = False
        while True:
            try:
                return self._retrying(method, path, send_once, idempotent=idempotent)
            except _Unauthorized as unauthorized:
                # An OAuth access token can expire mid-run: refresh it once.
                if not refreshed and self.credentials.expired(
                    unauthorized.authorization
                ):
                    refreshed = True
                    self.logger.info("HubSpot refused the access token; refreshing.")
                    continue
                raise unauthorized.error from None

    def _retrying(
        self,
        method: str,
        path: str,
        send_once: Callable[[], ApiResponse],
        *,
        idempotent: bool = True,
        setting: str = "api_url",
        token_endpoint: bool = False,
    ) -> ApiResponse:
        """Call ``send_once`` until it answers, retrying transient failures.

        Every request, the OAuth token refresh included, goes through this
        one policy: exponential backoff with jitter, at most ``max_retries``
        retries of failures and ``max_retry_seconds`` in all. 429s are paced
        by the shared limiter and do not count toward ``max_retries`` (a
        ten-secondly 429 says "wait for the window", not "broken"); the
        deadline bounds them. A host name that does not resolve gets one
        quick retry, since it is a wrong setting rather than an outage.

        Args:
            method: HTTP method, for messages.
            path: request path, for messages.
            send_once: sends one attempt; raises ``_Transient`` to retry.
            idempotent: whether repeating a request that HubSpot may have
                processed is harmless.
            setting: the setting that names the host, for messages.
            token_endpoint: the request refreshes the OAuth access token.

        Raises:
            HubSpotAPIError: for a refused request, or when retries run out.
        """
        started = time.monotonic()
        attempt = 0
        throttled = 0
        unresolved = 0
        while True:
            attempt += 1
            try:
                return send_once()
            except _Transient as transient:
                throttled += transient.status == 429
                unresolved += transient.unresolved
                failures = attempt - throttled
                if not idempotent and transient.sent and transient.status != 429:
                    raise _give_up(
                        method,
                        path,
                        transient,
                        attempts=attempt,
                        advice=(
                            "not repeated because the request creates records "
                            "and HubSpot may have processed it"
                        ),
                        setting=setting,
                    ) from None
                wait = self._backoff(attempt, transient)
                if transient.unresolved:
                    wait = min(wait, 1.0)
                elapsed = time.monotonic() - started
                budget = ""
                if failures > self.max_retries:
                    budget = f"'max_retries' ({self.max_retries})"
                elif elapsed + wait > self.max_retry_seconds:
                    budget = f"'max_retry_seconds' ({self.max_retry_seconds:g} s)"
                if transient.unresolved and (budget or unresolved > 1):
                    raise HostNotFound(
                        method=method,
                        path=path,
                        host=transient.host,
                        setting=setting,
                        cause=transient.cause,
                    ) from None
                if not budget:
                    self.stats.count_retry()
                    self._log_retry(method, path, wait, transient, failures, throttled)
                    self._sleep(wait)
                    continue
                raise _give_up(
                    method,
                    path,
                    transient,
                    attempts=attempt,
                    elapsed=elapsed,
                    advice=f"rerun later, or raise {budget}",
                    setting=setting,
                    token_endpoint=token_endpoint,
                ) from None

    def _log_retry(
        self,
        method: str,
        path: str,
        wait: float,
        transient: _Transient,
        failures: int,
        throttled: int,
    ) -> None:
        if transient.status == 429:
            self.logger.warning(
                "Retrying %s '%s' in %.1f s: %s, 429 number %d of this request; "
                "429s do not count toward 'max_retries', 'max_retry_seconds' "
                "(%g s) bounds them.",
                method,
                path,
                wait,
                transient.reason,
                throttled,
                self.max_retry_seconds,
            )
        elif transient.unresolved:
            self.logger.warning(
                "Retrying %s '%s' in %.1f s: %s; one quick retry before giving up.",
                method,
                path,
                wait,
                transient.reason,
            )
        else:
            self.logger.warning(
                "Retrying %s '%s' in %.1f s: %s; retry %d of %d allowed by "
                "'max_retries'.",
                method,
                path,
                wait,
                transient.reason,
                failures,
                self.max_retries,
            )

    def _exchange(
        self, method: str, url: str, *, book: bool = True, **kwargs: t.Any
    ) -> requests.Response:
        """Send one HTTP request; failures below HTTP become ``_Transient``."""
        host = _host_of(url)
        connect_timeout = min(10.0, self.timeout)
        try:
            return self.session.request(
                method, url, timeout=(connect_timeout, self.timeout), **kwargs
            )
        except requests.ConnectTimeout:
            reason = (
                f"could not connect to {host} within {connect_timeout:g} s "
                "(ConnectTimeout)"
            )
            failure = _Transient(0, reason, host=host, sent=False)
        except requests.Timeout:
            reason = f"no answer from {host} within {self.timeout:g} s"
            failure = _Transient(0, reason, host=host)
        except requests.ConnectionError as exc:
            causes = _causes(exc)
            cause = type(causes[-1]).__name__
            if any(isinstance(c, socket.gaierror) for c in causes):
                detail = str(causes[-1].args[-1]) if causes[-1].args else ""
                cause = f"{cause}: {detail}" if detail else cause
                name = urlsplit(url).hostname or host
                reason = f"could not resolve host '{name}' ({cause})"
                failure = _Transient(
                    0, reason, host=name, sent=False, unresolved=True, cause=cause
                )
            elif any(isinstance(c, NewConnectionError) for c in causes):
                reason = f"could not connect to {host} ({cause})"
                failure = _Transient(0, reason, host=host, sent=False)
            else:
                reason = f"the connection to {host} broke ({cause})"
                failure = _Transient(0, reason, host=host)
        except requests.RequestException as exc:
            reason = f"the transfer from {host} failed ({type(exc).__name__})"
            failure = _Transient(0, reason, host=host)
        if book:
            self.stats.count(0)
        raise failure

    def _post_token_form(self, form: Mapping[str, str]) -> tuple[int, t.Any]:
        """POST ``form`` to the OAuth token endpoint, retrying transients.

        Returns:
            The status and parsed body of the first answer that is not a
            transient failure: a token, or a refusal for the credentials to
            explain.
        """
        path = urlsplit(self.token_url).path

        def send_once() -> ApiResponse:
            response = self._exchange(
                "POST", self.token_url, book=False, data=dict(form)
            )
            status = response.status_code
            body = _parse_body(response)
            if 200 <= status < 300 and not isinstance(body, dict):
                raise _Transient(status, "a malformed JSON body")
            error_body = redact_oauth_error(body)
            if status == 429:
                policy = str((_as_dict(body)).get("policyName") or "rate limit")
                raise _Transient(status, f"429 {policy}", error_body)
            if status in RETRIABLE_STATUSES:
                raise _Transient(status, f"HTTP {status}", error_body)
            return ApiResponse(status, _as_dict(body) or None, response.headers)

        answer = self._retrying(
            "POST",
            path,
            send_once,
            setting=self._oauth_host_setting,
            token_endpoint=True,
        )
        return answer.status, answer.body

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        json: t.Any,
        authorization: str,
    ) -> ApiResponse:
        response = self._exchange(
            method,
            self.url(path),
            params=query,
            json=json,
            headers={"Authorization": authorization},
        )

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
        error = _classify(status, method, path, error_body)
        if isinstance(error, AuthenticationError):
            raise _Unauthorized(error, authorization)
        raise error

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


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and the chain of exceptions it came from, innermost last."""
    chain = [exc]
    inner: BaseException | None = exc.__cause__ or exc.__context__
    while inner is not None and inner not in chain:
        chain.append(inner)
        inner = inner.__cause__ or inner.__context__
    return chain


def _host_of(url: str) -> str:
    """``host[:port]`` of ``url``, never its user info, path or query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def _as_dict(body: t.Any) -> dict[str, t.Any]:
    return body if isinstance(body, dict) else {}


def _give_up(
    method: str,
    path: str,
    transient: _Transient,
    *,
    attempts: int,
    advice: str,
    setting: str,
    elapsed: float | None = None,
    token_endpoint: bool = False,
) -> RetriesExhausted:
    """The error for a transient failure that is not retried any more."""
    tried = f"{attempts} attempt{'s' * (attempts != 1)}"
    if elapsed is not None:
        tried += f" over {elapsed:.0f} s"
    if transient.status == 0 and not transient.sent:
        fix = (
            f"Gave up after {tried}. Check '{setting}'; if it is right, the "
            f"host is unreachable from here: {advice}"
        )
    elif transient.status == 0 and token_endpoint:
        fix = (
            f"Gave up after {tried}, a transient failure of the token "
            f"endpoint, not a refusal of the credentials; {advice}"
        )
    elif transient.status == 0:
        fix = f"Gave up after {tried}; {advice}"
    elif token_endpoint:
        fix = (
            f"The token endpoint kept failing with {transient.reason} ({tried}), "
            f"a transient failure, not a refusal of the credentials; {advice}"
        )
    else:
        fix = f"Gave up after {tried} ({transient.reason}); {advice}"
    fix += ". The last emitted STATE resumes the work"
    kind = ConnectionFailed if transient.status == 0 else RetriesExhausted
    return kind(
        status=transient.status,
        method=method,
        path=path,
        body=transient.body,
        attempts=attempts,
        reason=transient.reason,
        fix=fix,
    )


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
