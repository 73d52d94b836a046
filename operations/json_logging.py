"""One JSON object per log line (LOG_FORMAT=json), with the conversation's ids on each.

What a line may carry is an allow-list: the message, the logger, the level, the ids of the
conversation and a few operational fields. Anything else a caller passes in `extra=` is dropped,
and an exception is reduced to its type and stack frames, because exception messages and free
extras are where customers' words and secrets leak. `LOG_LEVEL=DEBUG` is the explicit switch
that lets them through, for a developer chasing a bug.
"""

import json
import logging
import traceback
from datetime import UTC, datetime

from operations.log_context import CONTEXT_FIELDS, current_log_context

# Operational fields that callers pass in `extra=`; none of them is ever a customer's text.
SAFE_EXTRA_FIELDS = frozenset({
    "outcome", "status", "duration_ms", "latency_ms", "llm_calls", "tool_calls", "task",
    "offset", "trigger_offset", "group", "mode", "open_websockets", "open_long_polls",
    "signal", "worker",
})


class ContextFilter(logging.Filter):
    """Copies the bound conversation ids onto every record (for any formatter to use)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in current_log_context().items():
            if not getattr(record, name, None):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, *args, include_everything: bool | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.include_everything = include_everything

    def _includes_everything(self) -> bool:
        if self.include_everything is not None:
            return self.include_everything
        return logging.getLogger().getEffectiveLevel() <= logging.DEBUG

    def format(self, record: logging.LogRecord) -> str:
        verbose = self._includes_everything()
        line: dict = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage() if verbose else _message_without_arguments(record),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value:
                line[name] = str(value)
        for name, value in record.__dict__.items():
            if name in SAFE_EXTRA_FIELDS or (verbose and name not in _STANDARD_ATTRIBUTES):
                line.setdefault(name, _jsonable(value))
        if record.exc_info and record.exc_info[0] is not None:
            error_type, error, stack = record.exc_info
            line["error_type"] = error_type.__name__
            frames = traceback.format_tb(stack)
            if verbose:
                frames.append(f"{error_type.__name__}: {error}")
            line["stack"] = "".join(frames)
        return json.dumps(line, ensure_ascii=False)


# Servers and frameworks whose log arguments are paths, addresses, task names and ids: a
# request path or a task's arguments carry ids only (tasks pass ids, never text).
_LOGGERS_WITH_SAFE_ARGUMENTS = ("django.", "daphne.", "celery.", "kombu.", "health_check")


def _message_without_arguments(record: logging.LogRecord) -> str:
    # Log calls put values in the arguments ("... %s", value), which is where a caller's data
    # goes; the template itself is code and safe.
    if record.args and record.name.startswith(_LOGGERS_WITH_SAFE_ARGUMENTS):
        return record.getMessage()
    return str(record.msg)


def _jsonable(value):
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


_STANDARD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__
) | {"message", "asctime", "taskName", *CONTEXT_FIELDS}
