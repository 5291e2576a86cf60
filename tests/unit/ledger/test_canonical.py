"""The writer's canonical bytes equal the reference: ``canonical_json`` of the entry's dict.

The hash chain is public and ``azora ledger verify`` recomputes it, so the fast encoder
(assembled from parts) must give exactly the bytes of the naive one kept here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import canonical_json, iso_utc, keccak256
from ledger.model import Entry, EntryType, NewEntry, Posting, postings_json


def reference_canonical(e: Entry) -> bytes:
    """The definition: every field but the hash, as canonical JSON of a dict."""
    return canonical_json(
        {
            "id": e.id,
            "seq": e.seq,
            "type": e.type.value,
            "kind": e.kind,
            "postings": [p.as_json() for p in e.postings],
            "metadata": dict(e.metadata),
            "effective_at": iso_utc(e.effective_at),
            "recorded_at": iso_utc(e.recorded_at),
            "expires_at": iso_utc(e.expires_at) if e.expires_at else None,
            "hold_id": e.hold_id,
            "reverses_id": e.reverses_id,
            "principal": e.principal,
            "idempotency_key": e.idempotency_key,
            "fingerprint": e.fingerprint,
        },
        checked=True,  # the encoding itself; validation is elsewhere
    )


texts = st.text(max_size=12)  # any printable and non-printable code point but surrogates
optional = st.none() | texts
instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
) | st.datetimes(timezones=st.just(timezone(timedelta(hours=-5)))).filter(
    lambda d: datetime(1, 1, 2, tzinfo=UTC) < d < datetime(9999, 12, 30, tzinfo=UTC)
)
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=10,
)
postings = st.lists(
    st.builds(Posting, texts, texts, texts, st.integers(1, 2**255 - 1)), min_size=1, max_size=4
)


@settings(max_examples=500, deadline=None)
@given(
    id_=texts,
    seq=st.integers(1, 2**63 - 1),
    type_=st.sampled_from(list(EntryType)),
    kind=texts,
    postings_=postings,
    metadata=st.dictionaries(texts, json_values, max_size=4),
    effective_at=instants,
    recorded_at=instants,
    expires_at=st.none() | instants,
    hold_id=optional,
    reverses_id=optional,
    principal=optional,
    key=optional,
    fingerprint=optional,
)
def test_the_fast_canonical_bytes_are_the_reference(
    id_: str,
    seq: int,
    type_: EntryType,
    kind: str,
    postings_: list[Posting],
    metadata: dict[str, Any],
    effective_at: datetime,
    recorded_at: datetime,
    expires_at: datetime | None,
    hold_id: str | None,
    reverses_id: str | None,
    principal: str | None,
    key: str | None,
    fingerprint: str | None,
) -> None:
    entry = Entry(
        id=id_,
        seq=seq,
        type=type_,
        kind=kind,
        postings=tuple(postings_),
        metadata=metadata,
        effective_at=effective_at,
        recorded_at=recorded_at,
        expires_at=expires_at,
        hold_id=hold_id,
        reverses_id=reverses_id,
        principal=principal,
        idempotency_key=key,
        fingerprint=fingerprint,
    )
    assert entry.canonical() == reference_canonical(entry)
    assert postings_json(entry.postings) == canonical_json(
        [p.as_json() for p in postings_], checked=True
    )


def test_a_known_entry_has_known_bytes() -> None:
    """A golden vector: the chain of already written journals depends on these bytes."""
    entry = Entry(
        id="e-1",
        seq=7,
        type=EntryType.POSTED,
        kind="reward.earned",
        postings=(Posting("world", "user:1:azr", "AZR", 5 * 10**18),),
        metadata={"note": "é\n", "n": 1},
        effective_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        recorded_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        principal="svc",
        idempotency_key="k",
        fingerprint="ab",
    )
    assert (
        entry.canonical()
        == (
            '{"effective_at":"2026-01-02T03:04:05.000006Z","expires_at":null,"fingerprint":"ab",'
            '"hold_id":null,"id":"e-1","idempotency_key":"k","kind":"reward.earned",'
            '"metadata":{"n":1,"note":"é\\n"},"postings":[{"amount":"5000000000000000000",'
            '"asset":"AZR","destination":"user:1:azr","source":"world"}],"principal":"svc",'
            '"recorded_at":"2026-01-02T03:04:05.000006Z","reverses_id":null,"seq":7,"type":"posted"}'
        ).encode()
    )


def reference_fingerprint(request: NewEntry) -> str:
    """The definition, as every stored fingerprint was made: the dict, canonically encoded."""
    body: dict[str, Any]
    if request.identity is not None:
        body = {"identity": dict(request.identity)}
    else:
        body = {
            "kind": request.kind,
            "postings": [p.as_json() for p in request.postings],
            "metadata": dict(request.metadata),
            "pending": request.pending,
            "expires_at": iso_utc(request.expires_at) if request.expires_at else None,
            "effective_at": iso_utc(request.effective_at) if request.effective_at else None,
        }
    return keccak256(canonical_json(body, checked=True)).hex()


@settings(max_examples=500, deadline=None)
@given(
    kind=texts,
    postings_=postings,
    metadata=st.dictionaries(texts, json_values, max_size=4),
    pending=st.booleans(),
    expires_at=st.none() | instants,
    effective_at=st.none() | instants,
    identity=st.none() | st.dictionaries(texts, json_values, max_size=3),
)
def test_fingerprints_from_parts_are_the_reference(
    kind: str,
    postings_: list[Posting],
    metadata: dict[str, Any],
    pending: bool,
    expires_at: datetime | None,
    effective_at: datetime | None,
    identity: dict[str, Any] | None,
) -> None:
    request = NewEntry(
        kind,
        tuple(postings_),
        metadata=metadata,
        pending=pending,
        expires_at=expires_at,
        effective_at=effective_at,
        identity=identity,
    )
    want = reference_fingerprint(request)
    assert request.fingerprint() == want
    parts = (postings_json(request.postings), canonical_json(metadata, checked=True))
    assert request.fingerprint(*parts) == want


def test_a_known_request_has_a_known_fingerprint() -> None:
    """A golden vector: keys recorded before must keep replaying."""
    request = NewEntry("transfer", (Posting("a", "b", "USD", 250),), metadata={"n": "é"})
    assert request.fingerprint() == reference_fingerprint(request)
    assert (
        request.fingerprint()
        == keccak256(
            b'{"effective_at":null,"expires_at":null,"kind":"transfer","metadata":{"n":"\xc3\xa9"},'
            b'"pending":false,"postings":[{"amount":"250","asset":"USD","destination":"b",'
            b'"source":"a"}]}'
        ).hex()
    )
