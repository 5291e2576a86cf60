"""How the served process logs: one format with the request id on every line.

Handed to the HTTP server (granian's ``log_dictconfig``), which applies it in every worker.
Each handler carries :class:`api.requestid.RequestIdFilter`, so every line, the
application's and the server's, says which request it belongs to (``-`` outside one);
access lines come from the application (``azora.access``) for the same reason.

``AZORA_LOG_FORMAT=json`` writes one JSON object per line instead, each with the request id
of the request it was written for, ready for a log pipeline. Secrets never reach a log line
in either form: URLs are shown masked (:func:`azora.db.display_url`,
:func:`chain.redact.redact_url`) and keys are never formatted into messages.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from api.requestid import current_request_id

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s [request_id=%(request_id)s] %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
JSON_LEVEL = logging.INFO


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        request_id = current_request_id()
        if request_id is not None:
            line["request_id"] = request_id
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_config(level: str = "INFO", log_format: str = "text") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for ``azora serve`` (``log_format``: text or json)."""
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json" if log_format == "json" else "line",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "api.requestid.RequestIdFilter"}},
        "formatters": {
            "line": {"format": LINE_FORMAT, "datefmt": DATE_FORMAT},
            "json": {"()": "azora.logs.JsonFormatter"},
        },
        "handlers": {"console": handler},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "_granian": {"handlers": ["console"], "level": level, "propagate": False},
            "granian.access": {"handlers": ["console"], "level": level, "propagate": False},
            "alembic": {"level": "WARNING"},  # each worker's schema check, not news
        },
    }


def configure(log_format: str) -> None:
    """Install the JSON handler on the root logger (once) where no server configured
    logging (an ASGI server other than ``azora serve``); nothing for ``text``."""
    if log_format != "json":
        return
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(JSON_LEVEL)
