"""structlog for our own events, and the same renderer for gunicorn's and uvicorn's records.

JSON lines when stderr is not a terminal (or LOG_FORMAT=json), readable console output on a
terminal (or LOG_FORMAT=console). Every line carries the process id; lines logged while a
request is handled carry its `request_id` (bound in the middleware, merged from contextvars).
"""

from __future__ import annotations

import datetime
import logging
import os
import sys
import time
from typing import Any, TextIO

import orjson
import structlog
from structlog.stdlib import ProcessorFormatter
from structlog.typing import EventDict, Processor, WrappedLogger

from ..config import Settings

# Server loggers we route through the root handler instead of their own handlers.
SERVER_LOGGERS = ("gunicorn.error", "uvicorn", "uvicorn.error")
# Access logs stay silent: the app's canonical "request" line replaces them. (uvicorn logs
# access lines whenever "uvicorn.access" has a handler anywhere up the tree.)
ACCESS_LOGGERS = ("gunicorn.access", "uvicorn.access")
CLIENT_LOGGERS = ("httpx", "httpcore")
_OURS = "_llm_gateway"  # marks the handler we install, so re-configuring replaces it


def _add_pid(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    event_dict["pid"] = os.getpid()
    return event_dict


class _UtcTimestamp:
    """`TimeStamper(fmt="iso", utc=True)`'s value (`2026-01-02T03:04:05.678901Z`, no fraction
    on a whole second, as `isoformat` writes it) without a datetime and an isoformat per
    line: the date and time are formatted once per second."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, _: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        now = time.time()
        second = int(now)
        if second != self._second:
            moment = datetime.datetime.fromtimestamp(second, datetime.UTC)
            self._prefix, self._second = moment.strftime("%Y-%m-%dT%H:%M:%S"), second
        micro = int((now - second) * 1_000_000)
        event_dict["timestamp"] = f"{self._prefix}.{micro:06d}Z" if micro else self._prefix + "Z"
        return event_dict


def _json(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=repr).decode()


def _common() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _UtcTimestamp(),
        _add_pid,
    ]


def _wants_json(settings: Settings, stream: TextIO) -> bool:
    if settings.log_format == "auto":
        return not stream.isatty()
    return settings.log_format == "json"


def formatter(settings: Settings, stream: TextIO) -> ProcessorFormatter:
    """Renders structlog events and plain stdlib records (gunicorn, uvicorn) alike."""
    renderers: list[Processor]
    if _wants_json(settings, stream):
        renderers = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer(_json)]
    else:
        renderers = [structlog.dev.ConsoleRenderer(colors=stream.isatty())]
    return ProcessorFormatter(
        foreign_pre_chain=_common(),
        processors=[ProcessorFormatter.remove_processors_meta, *renderers],
    )


def handler(settings: Settings) -> logging.Handler:
    """The one stderr handler; also used by gunicorn's `logconfig_dict` in the master."""
    stream = sys.stderr
    out = logging.StreamHandler(stream)
    out.setFormatter(formatter(settings, stream))
    setattr(out, _OURS, True)
    return out


def level_of(settings: Settings) -> int:
    return logging.getLevelNamesMapping()[settings.log_level.upper()]


def gunicorn_logconfig(settings: Settings) -> dict[str, Any]:
    """`logconfig_dict` for gunicorn: its master and worker boot records get our renderer.

    gunicorn.error keeps its own reference to the handler because the uvicorn worker copies
    that logger's handlers onto uvicorn.error before the app (and `configure_logging`) loads."""
    level = settings.log_level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {},
        "handlers": {"default": {"()": handler, "settings": settings}},
        "root": {"level": level, "handlers": ["default"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["default"], "propagate": False},
            "gunicorn.access": {"level": level, "handlers": [], "propagate": False},
        },
    }


class _LineLogger:
    """Where structlog's own events go in JSON mode: one rendered line each, written to
    stderr (resolved at each call, as the stdlib handler's stream is) and flushed, like the
    handler does. Skipping stdlib logging here makes the per-request line ~10x cheaper."""

    def __init__(self, name: str) -> None:
        self.name = name  # for `add_logger_name`

    def msg(self, message: str) -> None:
        stream = sys.stderr
        stream.write(message + "\n")
        stream.flush()

    debug = info = warning = error = critical = exception = msg


def _line_logger(*args: Any) -> _LineLogger:
    return _LineLogger(str(args[0]) if args else "root")


def configure_logging(settings: Settings) -> None:
    """Process-wide by nature: the last call wins. Leaves foreign root handlers (pytest's) alone.

    JSON mode: structlog events are rendered and written directly (`_LineLogger`); records of
    stdlib loggers (gunicorn, uvicorn, libraries) go through the handler with the same fields
    and renderer. Console mode: everything goes through the stdlib handler."""
    level = level_of(settings)
    if _wants_json(settings, sys.stderr):
        structlog.configure(
            processors=[
                *_common(),
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(_json),
            ],
            logger_factory=_line_logger,
            wrapper_class=structlog.make_filtering_bound_logger(level),
            # Not cached, so `structlog.testing.capture_logs` also sees module-level loggers.
            cache_logger_on_first_use=False,
        )
    else:
        structlog.configure(
            processors=[
                structlog.stdlib.filter_by_level,
                *_common(),  # the same fields as gunicorn's and uvicorn's records get
                structlog.stdlib.PositionalArgumentsFormatter(),
                structlog.processors.StackInfoRenderer(),
                ProcessorFormatter.wrap_for_formatter,
            ],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            cache_logger_on_first_use=False,
        )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
    root.addHandler(handler(settings))
    root.setLevel(level)
    for name in (*SERVER_LOGGERS, *ACCESS_LOGGERS):
        server_log = logging.getLogger(name)
        for old in list(server_log.handlers):
            server_log.removeHandler(old)
        server_log.propagate = name in SERVER_LOGGERS
        server_log.setLevel(level)
    # HTTP clients (the openai backend's) log every request at info; the request's own
    # canonical line says what matters. Their warnings still show.
    for name in CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    logging.captureWarnings(True)
