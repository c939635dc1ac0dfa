"""The ASGI guard in front of every route: API keys (constant-time), the request body cap (buffering
the body up to the cap), and request counting by route and status."""

from __future__ import annotations

import hmac

from serve.errors import ApiError
from serve.metrics import Metrics
from serve.settings import Settings

OPEN_PATHS = ("/health",)  # the only route that needs no API key


class Guard:
    """Pure ASGI middleware: checks the API key (constant-time), caps the request body (buffering it
    up to the cap), and counts requests by route and status."""

    def __init__(self, app, settings: Settings, metrics: Metrics, routes: set[str]):
        self.app, self.settings, self.metrics, self.routes = app, settings, metrics, routes
        self.keys = [key.encode() for key in settings.api_keys]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        route = path if path in self.routes else ("/ui" if path.startswith("/ui") else "other")
        status_seen: list[int] = []

        async def counting_send(message):
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
            await send(message)

        try:
            error = self._check_key(scope, path)
            if error is None:
                body, error = await self._read_body(scope, receive)
            if error is not None:
                await error.response()(scope, receive, counting_send)
                return
            await self.app(scope, _replay(body, receive), counting_send)
        except Exception:
            if not status_seen:  # the crash handler outside us answers 500: count it as that, not 499
                status_seen.append(500)
            raise
        finally:
            self.metrics.requests.labels(route, str(status_seen[0] if status_seen else 499)).inc()

    def _check_key(self, scope, path: str) -> ApiError | None:
        if not self.keys or path in OPEN_PATHS:
            return None
        if self.settings.ui and (path == "/ui" or path.startswith("/ui/")):
            return None  # the UI has its own sign-in with the same keys (see serve.app._mount_ui) and a session cookie
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"")
        given = auth[7:].strip() if auth[:7].lower() == b"bearer " else headers.get(b"x-api-key", b"")
        if key_matches(given, self.keys):
            return None
        return ApiError(401, "missing or incorrect API key", "authentication_error", None, "invalid_api_key",
                        {"WWW-Authenticate": "Bearer"})

    async def _read_body(self, scope, receive) -> tuple[list[dict], ApiError | None]:
        cap = self.settings.max_body_bytes
        too_big = ApiError(413, f"the request body is larger than the server's cap of {cap} bytes",
                           param=None, code="request_too_large")
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            return [], too_big
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return [], None
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > cap:
                return [], too_big
            if not message.get("more_body", False):
                break
        return messages, None


def key_matches(given: bytes, keys: list[bytes]) -> bool:
    """Whether ``given`` is one of ``keys``, compared with every key so the time taken does not reveal
    which key (or prefix) matched."""
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given, key)
    return matched


def _replay(messages: list[dict], receive):
    """A receive() that first returns the buffered body messages, then the live channel."""
    pending = list(messages)

    async def replayed():
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
