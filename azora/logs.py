"""How the served process logs: one format with the request id on every line.

Handed to the HTTP server (granian's ``log_dictconfig``), which applies it in every worker.
Each handler carries :class:`api.requestid.RequestIdFilter`, so every line, the
application's and the server's, says which request it belongs to (``-`` outside one);
access lines come from the application (``azora.access``) for the same reason.
"""

from __future__ import annotations

from typing import Any

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s [request_id=%(request_id)s] %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for ``azora serve``."""
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "line",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "api.requestid.RequestIdFilter"}},
        "formatters": {"line": {"format": LINE_FORMAT, "datefmt": DATE_FORMAT}},
        "handlers": {"console": handler},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "_granian": {"handlers": ["console"], "level": level, "propagate": False},
            "granian.access": {"handlers": ["console"], "level": level, "propagate": False},
            "alembic": {"level": "WARNING"},  # each worker's schema check, not news
        },
    }
