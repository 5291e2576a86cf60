"""PostgreSQL arrays in the binary wire format, built here for the journal writer.

The writer passes each batch as one array per column (``unnest``). psycopg's generic list
dumper inspects every list to choose an element dumper and calls it per element; for the
few column types the writer sends, building the bytes directly costs about a third as much
per element and nothing per array. Each encoded array is a ``bytes`` of its own type, which
psycopg sends as it is, in binary, with that type's OID, on a connection taught to
(:func:`teach`).

Numbers of the ``numeric`` columns go as ``text[]`` (their decimal digits) and the statement
casts them (``::text[]::numeric[]``): ``str`` of an ``int`` is the cheapest exact encoding
on this side, and the server parses each in well under a microsecond.
"""

from __future__ import annotations

import struct
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.adapt import Dumper
from psycopg.postgres import types
from psycopg.pq import Format

_HEADER = struct.Struct(">iiIii")  # dimensions, has nulls, element OID, length, lower bound
_EMPTY = struct.Struct(">iiI")  # no dimensions: an empty array
_LENGTH = struct.Struct(">i")
_INT8 = struct.Struct(">iq")  # length 8, then the value
_NULL = _LENGTH.pack(-1)
_POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

TEXT, INT8, BYTEA, TIMESTAMPTZ = (types[name] for name in ("text", "int8", "bytea", "timestamptz"))


class TextArray(bytes):
    """A ``text[]`` in the binary format."""


class Int8Array(bytes):
    """A ``bigint[]`` in the binary format."""


class ByteaArray(bytes):
    """A ``bytea[]`` in the binary format."""


class TimestamptzArray(bytes):
    """A ``timestamptz[]`` in the binary format."""


def _header(count: int, nulls: bool, oid: int) -> bytes:
    if not count:
        return _EMPTY.pack(0, 0, oid)
    return _HEADER.pack(1, 1 if nulls else 0, oid, count, 1)


def _blobs(values: Sequence[bytes | None], oid: int) -> bytes:
    parts = [_NULL if v is None else _LENGTH.pack(len(v)) + v for v in values]
    return _header(len(values), None in values, oid) + b"".join(parts)


def text_array(values: Sequence[str | None]) -> TextArray:
    """``values`` as ``text[]``; a string that is not valid UTF-8 (a lone surrogate) raises
    ``UnicodeEncodeError``, a ``ValueError``, as the driver's own dumper would."""
    return TextArray(_blobs([None if v is None else v.encode() for v in values], TEXT.oid))


def numeric_text_array(values: Sequence[int]) -> TextArray:
    """Integers as the ``text[]`` of their digits, for a ``::text[]::numeric[]`` cast."""
    return TextArray(_blobs([str(v).encode() for v in values], TEXT.oid))


def bytea_array(values: Sequence[bytes]) -> ByteaArray:
    return ByteaArray(_blobs(values, BYTEA.oid))


def int8_array(values: Sequence[int]) -> Int8Array:
    """``values`` as ``bigint[]``; one out of its range raises ``OverflowError``."""
    try:
        body = b"".join([_INT8.pack(8, v) for v in values])
    except struct.error as error:
        raise OverflowError(f"a value does not fit a bigint: {error}") from None
    return Int8Array(_header(len(values), False, INT8.oid) + body)


def timestamptz_array(values: Sequence[datetime | None]) -> TimestamptzArray:
    """Aware instants (a batch shares a few) as ``timestamptz[]``, to the microsecond."""
    encoded: dict[datetime, bytes] = {}
    parts = []
    nulls = False
    for v in values:
        if v is None:
            parts.append(_NULL)
            nulls = True
            continue
        found = encoded.get(v)
        if found is None:
            micros = (v - _POSTGRES_EPOCH) // _MICROSECOND
            found = encoded[v] = _INT8.pack(8, micros)
        parts.append(found)
    return TimestamptzArray(_header(len(values), nulls, TIMESTAMPTZ.oid) + b"".join(parts))


class _AsIs(Dumper):
    """Sends an encoded array as it is; each subclass names its array type."""

    format = Format.BINARY

    def dump(self, obj: object) -> bytes:
        assert isinstance(obj, bytes)
        return obj


_OID_OF: dict[type, int] = {
    TextArray: TEXT.array_oid,
    Int8Array: INT8.array_oid,
    ByteaArray: BYTEA.array_oid,
    TimestamptzArray: TIMESTAMPTZ.array_oid,
}
_DUMPERS = [
    (array, type(f"{array.__name__}Dumper", (_AsIs,), {"oid": oid}))
    for array, oid in _OID_OF.items()
]
_taught: weakref.WeakSet[psycopg.Connection[Any]] = weakref.WeakSet()


def teach(raw: psycopg.Connection[Any]) -> None:
    """Have ``raw`` send these arrays as they are (once per connection: each copies psycopg's
    adapters when it opens, so registering them globally would miss those already open)."""
    if raw not in _taught:
        for array_type, dumper in _DUMPERS:
            raw.adapters.register_dumper(array_type, dumper)
        _taught.add(raw)


def array_oid(encoded: bytes) -> int:
    """The array type OID of an array made here."""
    return _OID_OF[type(encoded)]
