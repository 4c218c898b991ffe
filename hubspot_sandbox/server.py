"""The sandbox's HTTP server: routing, auth, rate limits and fault injection."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hubspot_sandbox.auth import AuthRegistry, TokenInfo
from hubspot_sandbox.config import (
    COURSES_OBJECT_TYPE_ID,
    READ_SCOPE,
    SCHEMA_READ_SCOPE,
    WRITE_SCOPE,
    SandboxConfig,
)
from hubspot_sandbox.errors import (
    SCOPES_URL,
    ApiError,
    bad_request,
    error_body,
    rate_limit_body,
)
from hubspot_sandbox.faults import Faults
from hubspot_sandbox.messages import Request, Response
from hubspot_sandbox.objects_api import ObjectsApi
from hubspot_sandbox.ratelimit import DailyCounter, RollingWindow
from hubspot_sandbox.schema_api import SchemaApi
from hubspot_sandbox.search_api import SearchApi
from hubspot_sandbox.seed import SeedSummary
from hubspot_sandbox.stats import Stats
from hubspot_sandbox.store import Store

logger = logging.getLogger("hubspot_sandbox")

JSON_CONTENT_TYPE = "application/json;charset=utf-8"
COURSE_NAMES = frozenset({"courses", COURSES_OBJECT_TYPE_ID})
OTHER_KNOWN_TYPES = frozenset(
    {
        "contacts",
        "companies",
        "deals",
        "tickets",
        "0-1",
        "0-2",
        "0-3",
        "0-5",
        "listings",
        "0-420",
        "services",
        "0-162",
        "appointments",
        "0-421",
    }
)
READ = frozenset({READ_SCOPE})
WRITE = frozenset({WRITE_SCOPE})
PROPERTY_READ = frozenset(
    {READ_SCOPE, WRITE_SCOPE, SCHEMA_READ_SCOPE, "crm.schemas.custom.read"}
)

Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    """One endpoint.

    Attributes:
        method: HTTP method.
        pattern: Compiled full-path pattern with named groups.
        kind: Name counted in :class:`Stats`.
        handler: Function answering the request.
        scopes: Any one of these scopes is required; None: no token needed.
        needs_courses: Refused when courses are not activated.
        type_slots: Path groups that must name the courses object.
    """

    method: str
    pattern: re.Pattern[str]
    kind: str
    handler: Handler
    scopes: frozenset[str] | None
    needs_courses: bool = True
    type_slots: tuple[str, ...] = ("t",)


def _build_routes(
    objects: ObjectsApi, search: SearchApi, schema: SchemaApi, auth: AuthRegistry
) -> list[Route]:
    obj = r"/crm/(?:v3/objects|objects/2026-03)/(?P<t>[^/]+)"
    obj_dated = r"/crm/objects/2026-03/(?P<t>[^/]+)"
    rec = r"/crm/(?:v4/objects|objects/2026-03)/(?P<t>[^/]+)/(?P<id>[^/]+)/associations"
    props = r"/crm/(?:v3/properties|properties/2026-03)/(?P<t>[^/]+)"
    assoc = (
        r"/crm/(?:v4/associations|associations/2026-03)/(?P<from>[^/]+)/(?P<to>[^/]+)"
    )
    pair = ("from",)

    def token(req: Request) -> Response:
        form = {
            k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()
        }
        for key, values in req.params.items():
            form.setdefault(key, values[0])
        status, body = auth.oauth_token(form)
        return Response(status, body)

    table: list[
        tuple[str, str, str, Handler, frozenset[str] | None, bool, tuple[str, ...]]
    ] = [
        (
            "POST",
            r"/oauth/(?:v1|v3|2026-03)/token",
            "oauth_token",
            token,
            None,
            False,
            (),
        ),
        (
            "GET",
            r"/crm/object-library/2026-03/enablement(?:/(?P<t>[^/]+))?",
            "enablement",
            schema.enablement,
            frozenset(),
            False,
            (),
        ),
        ("GET", obj, "list", objects.list_page, READ, True, ("t",)),
        ("POST", obj, "create", objects.create, WRITE, True, ("t",)),
        ("POST", obj + "/search", "search", search.search, READ, True, ("t",)),
        (
            "POST",
            obj + "/batch/read",
            "batch_read",
            objects.batch_read,
            READ,
            True,
            ("t",),
        ),
        (
            "POST",
            obj + "/batch/create",
            "batch_create",
            objects.batch_create,
            WRITE,
            True,
            ("t",),
        ),
        (
            "POST",
            obj + "/batch/update",
            "batch_update",
            objects.batch_update,
            WRITE,
            True,
            ("t",),
        ),
        (
            "POST",
            obj + "/batch/upsert",
            "batch_upsert",
            objects.batch_upsert,
            WRITE,
            True,
            ("t",),
        ),
        (
            "POST",
            obj + "/batch/archive",
            "batch_archive",
            objects.batch_archive,
            WRITE,
            True,
            ("t",),
        ),
        ("POST", obj_dated + "/merge", "merge", objects.merge, WRITE, True, ("t",)),
        (
            "GET",
            rec + r"/(?P<to>[^/]+)",
            "assoc_record_get",
            schema.record_get,
            READ,
            True,
            ("t",),
        ),
        (
            "PUT",
            rec + r"/default/(?P<to>[^/]+)/(?P<to_id>[^/]+)",
            "assoc_record_put_default",
            schema.record_put_default,
            WRITE,
            True,
            ("t",),
        ),
        (
            "PUT",
            rec + r"/(?P<to>[^/]+)/(?P<to_id>[^/]+)",
            "assoc_record_put",
            schema.record_put,
            WRITE,
            True,
            ("t",),
        ),
        (
            "DELETE",
            rec + r"/(?P<to>[^/]+)/(?P<to_id>[^/]+)",
            "assoc_record_delete",
            schema.record_delete,
            WRITE,
            True,
            ("t",),
        ),
        ("GET", obj + r"/(?P<id>[^/]+)", "get", objects.get, READ, True, ("t",)),
        (
            "PATCH",
            obj + r"/(?P<id>[^/]+)",
            "update",
            objects.update,
            WRITE,
            True,
            ("t",),
        ),
        (
            "DELETE",
            obj + r"/(?P<id>[^/]+)",
            "archive",
            objects.archive,
            WRITE,
            True,
            ("t",),
        ),
        (
            "GET",
            props,
            "properties_list",
            schema.properties_list,
            PROPERTY_READ,
            True,
            ("t",),
        ),
        (
            "POST",
            props + "/batch/read",
            "properties_batch_read",
            schema.properties_batch_read,
            PROPERTY_READ,
            True,
            ("t",),
        ),
        (
            "GET",
            props + r"/(?P<name>[^/]+)",
            "properties_get",
            schema.properties_get,
            PROPERTY_READ,
            True,
            ("t",),
        ),
        (
            "POST",
            assoc + "/batch/read",
            "assoc_batch_read",
            schema.batch_read,
            READ,
            True,
            pair,
        ),
        (
            "POST",
            assoc + "/batch/create",
            "assoc_batch_create",
            schema.batch_create,
            WRITE,
            True,
            pair,
        ),
        (
            "POST",
            assoc + "/batch/associate/default",
            "assoc_batch_default",
            schema.batch_associate_default,
            WRITE,
            True,
            pair,
        ),
        (
            "POST",
            assoc + "/batch/archive",
            "assoc_batch_archive",
            schema.batch_archive,
            WRITE,
            True,
            pair,
        ),
        ("GET", assoc + "/labels", "assoc_labels", schema.labels, READ, True, pair),
    ]
    return [
        Route(
            method, re.compile(pattern + r"/?\Z"), kind, handler, scopes, courses, slots
        )
        for method, pattern, kind, handler, scopes, courses, slots in table
    ]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    sandbox: Sandbox
    connections: set[socket.socket]
    connections_lock: threading.Lock
    stopping: threading.Event


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "HubSpotSandbox/1.0"
    timeout = 120
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            logger.debug("Connection closed before its response was flushed")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("sandbox %s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self, method: str) -> None:
        sandbox = self.server.sandbox
        body = self._read_body()
        target = self.path
        split = urlsplit(target)
        path = split.path
        route, groups = sandbox.resolve(method, path)
        sandbox.stats.count_request(route.kind if route else "unknown")
        if not sandbox.inject_delays(path, self.server.stopping):
            self._drop()
            return
        if sandbox.should_drop(path):
            self._drop()
            return
        response = sandbox.injected_failure(path)
        if response is None:
            if len(target) > sandbox.config.max_url_length:
                response = _error_response(
                    ApiError(
                        414,
                        error_body(
                            f"The request URL is {len(target)} characters long; "
                            f"the limit is {sandbox.config.max_url_length}.",
                            "URI_TOO_LONG",
                        ),
                    )
                )
            elif route is None:
                response = _error_response(
                    ApiError(
                        404, error_body(f"Unknown path {path}", "OBJECT_NOT_FOUND")
                    )
                )
            else:
                request = Request(
                    method=method,
                    path=path,
                    params=parse_qs(split.query, keep_blank_values=True),
                    match={k: v for k, v in groups.items() if v is not None},
                    body=body,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    base_url=sandbox.url,
                )
                response = sandbox.handle(route, request)
        self._send(response, path)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            logger.debug("Socket already closed while dropping")

    def _send(self, response: Response, path: str) -> None:
        sandbox = self.server.sandbox
        payload = b""
        if response.body is not None:
            # Escaped as \uXXXX where a stored string holds a lone surrogate,
            # which UTF-8 cannot carry; an answer is never dropped for it.
            payload = json.dumps(
                response.body, ensure_ascii=False, separators=(",", ":")
            ).encode("utf-8", "backslashreplace")
            if response.status == 200 and sandbox.faults.roll(
                "malformed_rate", sandbox.faults.malformed_rate, path
            ):
                sandbox.stats.count_fault("malformed")
                payload = payload[: max(1, len(payload) // 2)]
        sandbox.stats.count_status(response.status)
        self.send_response(response.status)
        correlation = None
        if isinstance(response.body, dict):
            correlation = response.body.get("correlationId")
        self.send_header("X-HubSpot-Correlation-Id", str(correlation or uuid.uuid4()))
        if response.body is not None:
            self.send_header("Content-Type", JSON_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)


def _error_response(error: ApiError) -> Response:
    return Response(error.status, error.body, dict(error.headers or {}))


class Sandbox:
    """A local, stateful HubSpot server for the courses object.

    Args:
        config: Settings; defaults to :class:`SandboxConfig` defaults.
        store: The portal to serve; a new empty one when None. Pass the store of
            a stopped sandbox to "restart" on the same data.
        faults: Fault settings; a new, inactive :class:`Faults` when None.

    Attributes:
        config: The settings (tokens may be added while running).
        store: The in-memory portal.
        faults: The live fault settings.
        stats: Request counters.
        seed_summary: What seeding created, when a fixture or the CLI seeded.
        auth: Token registry (``sb.auth.expire(token)`` expires OAuth tokens).
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        store: Store | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.config = config or SandboxConfig()
        self.store = store if store is not None else Store(self.config.portal_id)
        self.faults = faults or Faults()
        self.stats = Stats()
        self.auth = AuthRegistry(self.config)
        self.window = RollingWindow(
            self.config.rate_limit_max, self.config.rate_limit_interval_ms / 1000
        )
        self.search_window = RollingWindow(self.config.search_per_second, 1.0)
        self.daily = DailyCounter(self.config.daily_limit)
        self.objects = ObjectsApi(self.store, self.config)
        self.search = SearchApi(self.store, self.config, self.objects)
        self.schema = SchemaApi(self.store, self.config)
        self.routes = _build_routes(self.objects, self.search, self.schema, self.auth)
        self.seed_summary: SeedSummary | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind and serve in a background thread.

        Returns:
            The sandbox itself.

        Raises:
            RuntimeError: When it is already running.
        """
        if self._server is not None:
            raise RuntimeError(f"The sandbox is already running at {self.url}")
        server = _Server((self.config.host, self.config.port), _Handler)
        server.sandbox = self
        server.connections = set()
        server.connections_lock = threading.Lock()
        server.stopping = threading.Event()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="hubspot-sandbox",
            daemon=True,
        )
        self._thread.start()
        logger.info(
            "HubSpot sandbox serving %d courses at %s",
            len(self.store.courses),
            self.url,
        )
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection."""
        server = self._server
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        with server.connections_lock:
            open_connections = list(server.connections)
        for connection in open_connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                logger.debug("Connection already closed at stop")
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The bound TCP port.

        Raises:
            RuntimeError: When not started.
        """
        if self._server is None:
            raise RuntimeError("The sandbox is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        return f"http://{self.config.host}:{self.port}"

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def reset_limits(self) -> None:
        """Forget rate-limit windows and the daily count."""
        self.window.reset()
        self.search_window.reset()
        self.daily.reset()

    # -- request processing ---------------------------------------------------

    def resolve(self, method: str, path: str) -> tuple[Route | None, dict[str, Any]]:
        """Find the route for a request.

        Args:
            method: HTTP method.
            path: Request path.

        Returns:
            The route and its captured groups, or ``(None, {})``.
        """
        for route in self.routes:
            if route.method != method:
                continue
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None, {}

    def inject_delays(self, path: str, stopping: threading.Event) -> bool:
        """Sleep for the latency and hang faults, without holding any lock.

        Args:
            path: Request path.
            stopping: Set when the server stops; ends sleeps early.

        Returns:
            False when the server stopped during the sleep.
        """
        faults = self.faults
        delay = 0.0
        if faults.latency_ms > 0 and faults.applies("latency_ms", path):
            self.stats.count_fault("latency")
            delay += faults.latency_ms / 1000
        if faults.hang_seconds > 0 and faults.roll("hang_rate", faults.hang_rate, path):
            self.stats.count_fault("hang")
            delay += faults.hang_seconds
        if delay > 0:
            return not stopping.wait(delay)
        return True

    def should_drop(self, path: str) -> bool:
        """Draw the drop fault.

        Args:
            path: Request path.

        Returns:
            True when the connection must be closed without an answer.
        """
        if self.faults.roll("drop_rate", self.faults.drop_rate, path):
            self.stats.count_fault("drop")
            return True
        return False

    def injected_failure(self, path: str) -> Response | None:
        """Apply ``fail_next``, ``error_5xx_rate`` and ``burst_429``.

        Args:
            path: Request path.

        Returns:
            The injected answer, or None.
        """
        faults = self.faults
        status = faults.take_fail_next(path)
        kind = "fail_next"
        if status is None and faults.roll(
            "error_5xx_rate", faults.error_5xx_rate, path
        ):
            status = faults.choose_5xx()
            kind = "error_5xx"
        if status is not None:
            self.stats.count_fault(kind)
            if status == 429:
                return Response(429, rate_limit_body("TEN_SECONDLY_ROLLING"))
            return Response(
                status,
                error_body(
                    f"Injected failure: the sandbox answered {status} on purpose.",
                    "INTERNAL_ERROR" if status < 502 else "BAD_GATEWAY",
                ),
            )
        if faults.take_burst_429(path):
            self.stats.count_fault("burst_429")
            return Response(429, rate_limit_body("TEN_SECONDLY_ROLLING"))
        return None

    def handle(self, route: Route, request: Request) -> Response:
        """Authenticate, rate-limit, authorize and run one request.

        Args:
            route: The matched route.
            request: The request.

        Returns:
            The response, errors included.
        """
        headers: dict[str, str] = {}
        try:
            if route.scopes is not None:
                token = self._authenticate(request)
                request.token = token
                headers = self._rate_limit(route, token)
                self._authorize(route, token)
                self._check_object_types(route, request)
                if route.needs_courses and not self.config.courses_enabled:
                    raise _not_activated(self.config.portal_id)
            response = route.handler(request)
        except ApiError as error:
            response = _error_response(error)
        except Exception:
            logger.exception("Sandbox handler for %s failed", route.kind)
            response = Response(
                500, error_body("Internal error in the sandbox.", "INTERNAL_ERROR")
            )
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    def _authenticate(self, request: Request) -> TokenInfo:
        expire_after = None
        if self.faults.expire_tokens_after is not None and self.faults.applies(
            "expire_tokens_after", request.path
        ):
            expire_after = self.faults.expire_tokens_after
        try:
            return self.auth.authenticate(
                request.headers.get("authorization"), expire_after
            )
        except ApiError as error:
            if expire_after is not None and error.body["category"] == (
                "EXPIRED_AUTHENTICATION"
            ):
                self.stats.count_fault("token_expired")
            raise

    def _rate_limit(self, route: Route, token: TokenInfo) -> dict[str, str]:
        """Apply the daily, search and rolling-window limits.

        Requests refused with 429 count against neither the window nor the
        daily allowance, so retrying while throttled does not prolong it.
        """
        self.daily.limit = self.config.daily_limit
        daily_exhausted = self.daily.remaining() <= 0
        if route.kind == "search":
            if daily_exhausted:
                raise ApiError(429, rate_limit_body("DAILY"))
            self.search_window.max_requests = self.config.search_per_second
            ok, _ = self.search_window.acquire(token.token, time.monotonic())
            if not ok:
                raise ApiError(429, rate_limit_body("SECONDLY"))
            self.daily.acquire()
            return {}
        self.window.max_requests = self.config.rate_limit_max
        self.window.interval_s = self.config.rate_limit_interval_ms / 1000
        headers = {
            "X-HubSpot-RateLimit-Max": str(self.config.rate_limit_max),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(
                self.config.rate_limit_interval_ms
            ),
        }
        private = token.kind == "private"
        if private:
            headers["X-HubSpot-RateLimit-Daily"] = str(self.config.daily_limit)
        if daily_exhausted:
            headers["X-HubSpot-RateLimit-Remaining"] = "0"
            if private:
                headers["X-HubSpot-RateLimit-Daily-Remaining"] = "0"
            raise ApiError(429, rate_limit_body("DAILY"), headers)
        ok, remaining = self.window.acquire(token.token, time.monotonic())
        headers["X-HubSpot-RateLimit-Remaining"] = str(remaining)
        if not ok:
            if private:
                headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(
                    self.daily.remaining()
                )
            raise ApiError(429, rate_limit_body("TEN_SECONDLY_ROLLING"), headers)
        _, daily_left = self.daily.acquire()
        if private:
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(daily_left)
        return headers

    @staticmethod
    def _authorize(route: Route, token: TokenInfo) -> None:
        if not route.scopes or route.scopes & token.scopes:
            return
        raise ApiError(
            403,
            error_body(
                "This app hasn't been granted all required scopes to make this call. "
                f"Read more about required scopes here: {SCOPES_URL}.",
                "MISSING_SCOPES",
                errors=[
                    {
                        "message": "One or more of the following scopes are required.",
                        "context": {"requiredGranularScopes": sorted(route.scopes)},
                    }
                ],
                links={"scopes": SCOPES_URL},
            ),
        )

    @staticmethod
    def _check_object_types(route: Route, request: Request) -> None:
        for slot in route.type_slots:
            name = request.match.get(slot)
            if name is None or name.lower() in COURSE_NAMES:
                continue
            if name.lower() in OTHER_KNOWN_TYPES:
                raise ApiError(
                    404,
                    error_body(
                        f"Object type {name} is not emulated by this sandbox; only "
                        "courses (0-410) are.",
                        "OBJECT_NOT_FOUND",
                    ),
                )
            raise bad_request(f"Unable to infer object type from: {name}")


def _not_activated(portal_id: int) -> ApiError:
    """Build the refusal for a portal where courses are not activated.

    [UNVERIFIED] HubSpot's exact status and category for this case are not
    documented; the sandbox answers 403 with category ``OBJECT_NOT_ACTIVATED``.
    """
    return ApiError(
        403,
        error_body(
            f"The courses object (0-410) is not activated in portal {portal_id}. "
            "Activate it in the object library, then check "
            "GET /crm/object-library/2026-03/enablement/0-410.",
            "OBJECT_NOT_ACTIVATED",
        ),
    )
