"""Logging: one JSON object per line on stderr, on the stdlib `logging` the code already uses.

Every line has `timestamp` (UTC), `level`, `logger`, `message` and `pid`; a line written while
a request is handled also has its `request_id`, so one request's lines can be found together.
What a line adds with `extra=` becomes fields of its own (the request line: route, status,
duration_ms, user_id, device_id; a job's line: kind, outbox_id, outcome).

No header, body, query string or exception message that could hold a password or token is
ever logged (tests/backend/test_observability.py greps a server's whole log for them).

LOG_FORMAT=text gives plain lines for a developer's terminal.
"""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter

FIELDS = ("timestamp", "levelname", "name", "message", "process")
RENAME = {"levelname": "level", "name": "logger", "process": "pid"}
FORMATS = ("json", "text")


class RequestId(logging.Filter):
    """Adds the id of the request being handled (if any) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            from flask import has_request_context, request

            if has_request_context():
                record.request_id = getattr(request, "request_id", None)
        return True


def formatter(fmt: str = "json") -> logging.Formatter:
    if fmt == "text":
        return logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s")
    return JsonFormatter(
        list(FIELDS),
        rename_fields=RENAME,
        timestamp=True,
        json_ensure_ascii=False,
    )


def configure(level: str, fmt: str = "json") -> None:
    """Log to stderr in `fmt`, unless something (a test runner, gunicorn's logconfig) has
    already given the root logger its handlers; as `logging.basicConfig` does."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(formatter(fmt))
        handler.addFilter(RequestId())
        root.addHandler(handler)
        root.setLevel(level)
    for handler in root.handlers:
        if not any(isinstance(f, RequestId) for f in handler.filters):
            handler.addFilter(RequestId())


def gunicorn_logconfig(level: str, fmt: str = "json") -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: its own lines (workers booting, timeouts) and the app's,
    in the same JSON, through one stderr handler on the root logger."""
    factory: dict[str, Any] = (
        {"()": "backend.logs.formatter", "fmt": fmt}
        if fmt in FORMATS
        else {"()": "backend.logs.formatter"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"anjian": factory},
        "filters": {"request_id": {"()": "backend.logs.RequestId"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "anjian",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            # Requests are logged by the app (backend/telemetry.py), with their route and user.
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }
