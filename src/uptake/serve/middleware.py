"""Pure ASGI middleware in front of every route: request body limits.

Pure ASGI (no per-request objects beyond a header lookup) because these run on the
single-customer hot path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from uptake.serve.encode import dumps


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuse bodies over the cap with 413, by Content-Length or while streaming a chunked body."""

    def __init__(self, app: Any, default: int, upload: int, upload_path: str) -> None:
        self.app, self.default, self.upload, self.upload_path = app, default, upload, upload_path

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.upload if scope["path"] == self.upload_path else self.default
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _drain(receive, declared)
                    await _send_413(send, limit)
                    return
        received = 0
        started = False

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if message.get("more_body"):
                        await _drain(receive, limit)
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _send_413(send, limit)


#: Bytes of an over-limit body read and thrown away so the client sees the 413 instead of a
#: connection reset (it is still sending when the answer comes); beyond this, just close.
DRAIN_BYTES = 16 << 20


async def _drain(receive: Callable[[], Awaitable[Any]], declared: int) -> None:
    if declared > DRAIN_BYTES:
        return
    seen = 0
    while seen <= DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body"):
            return


async def _send_413(send: Any, limit: int) -> None:
    body = dumps({"detail": f"request body larger than the limit of {limit:,} bytes"})
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


__all__ = ["BodyLimit"]
