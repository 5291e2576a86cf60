"""A Server-Sent Events parser (the WHATWG event-stream rules, the parts the ledger uses)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Message:
    id: str | None
    event: str
    data: str


@dataclass(slots=True)
class _Buffer:
    data: list[str]
    event: str = ""
    id: str | None = None


def messages(lines: Iterable[str]) -> Iterator[Message | int]:
    """Messages of an event stream given line by line (line ends removed); a ``retry:``
    field yields its milliseconds as an int."""
    buffer = _Buffer([])
    for line in lines:
        if line == "":
            if buffer.data:
                yield Message(buffer.id, buffer.event or "message", "\n".join(buffer.data))
            buffer = _Buffer([])
            continue
        if line.startswith(":"):
            continue  # a comment (keep-alive)
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            buffer.data.append(value)
        elif name == "event":
            buffer.event = value
        elif name == "id" and "\x00" not in value:
            buffer.id = value
        elif name == "retry" and value.isdigit():
            yield int(value)
