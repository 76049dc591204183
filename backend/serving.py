"""How the API is served: bounds on how long a client may take to send a request, and no
server version banner (issue 12). gunicorn's settings are in gunicorn.conf.py."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import RequestTimeout
from werkzeug.serving import WSGIRequestHandler

# A socket read that waits longer than this for the next bytes is dropped (dev server; gunicorn
# workers are bounded by its --timeout).
READ_TIMEOUT_SECONDS = 30
SERVER_NAME = "anjian"
PIECE = 8192


class RequestHandler(WSGIRequestHandler):
    """The development server's handler: a read timeout, and a Server header without versions."""

    timeout = READ_TIMEOUT_SECONDS  # socketserver applies it to the connection's socket

    def version_string(self) -> str:
        return SERVER_NAME


class _DeadlineInput:
    """wsgi.input that refuses to keep reading a body past a deadline: a client that trickles
    a byte at a time cannot hold a worker for longer than `seconds`."""

    def __init__(self, stream: Any, seconds: float) -> None:
        self._stream = stream
        self._deadline = time.monotonic() + seconds
        self._seconds = seconds

    def _check(self) -> None:
        if time.monotonic() > self._deadline:
            raise RequestTimeout(
                f"The request body took longer than {self._seconds:.0f} seconds to arrive. "
                "Send it again on a better connection, or send less at a time."
            )

    def read(self, *args: Any) -> bytes:
        self._check()
        return self._stream.read(*args)  # type: ignore[no-any-return]

    def readinto(self, buffer: Any) -> int:  # what werkzeug's LimitedStream calls
        # One socket read at a time (read1), so the deadline is checked between them; a
        # buffered readinto would wait for the whole buffer, however slowly it fills.
        self._check()
        read1 = getattr(self._stream, "read1", None)
        data = read1(len(buffer)) if read1 else self._stream.read(min(len(buffer), PIECE))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, *args: Any) -> bytes:
        self._check()
        return self._stream.readline(*args)  # type: ignore[no-any-return]

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class BodyDeadline:
    """WSGI middleware: every request body must arrive within `seconds` of the request."""

    def __init__(self, app: Callable[..., Iterable[bytes]], seconds: float) -> None:
        self.app, self.seconds = app, seconds

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if "wsgi.input" in environ:
            environ["wsgi.input"] = _DeadlineInput(environ["wsgi.input"], self.seconds)
        return self.app(environ, start_response)
