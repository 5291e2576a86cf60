"""The service's log format: one JSON object per line (``AZORA_LOG_FORMAT=json``), each with
the request id of the request it was written for, ready for a log pipeline.

Text (the default) leaves logging as it is. Secrets never reach a log line in either form:
URLs are shown masked (:func:`azora.db.display_url`, :func:`chain.redact.redact_url`) and
keys are never formatted into messages.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from api.observe import current_request_id

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


def configure(log_format: str) -> None:
    """Install the JSON handler on the root logger (once); nothing for ``text``."""
    if log_format != "json":
        return
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(JSON_LEVEL)
