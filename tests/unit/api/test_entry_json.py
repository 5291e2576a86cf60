"""The write routes' plain JSON of an entry is what the response model would write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from api.schemas.entries import EntryPublic, entry_json
from ledger.model import Entry, EntryType, Posting

zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=zones
)


def _entry(effective: datetime, recorded: datetime, expires: datetime | None) -> Entry:
    return Entry(
        id="6f1c0e9e-2f5b-4c1e-9a8e-0d9b5c1f7a10",
        seq=7,
        type=EntryType.PENDING if expires else EntryType.POSTED,
        kind="transfer",
        postings=(Posting("user:1:usd", "user:2:usd", "USD", 2500),),
        metadata={"note": "é"},
        effective_at=effective,
        recorded_at=recorded,
        expires_at=expires,
        idempotency_key="k-1",
    )


@given(effective=instants, recorded=instants, expires=st.none() | instants)
def test_instants_are_written_as_pydantic_writes_them_in_any_zone(
    effective: datetime, recorded: datetime, expires: datetime | None
) -> None:
    entry = _entry(effective, recorded, expires)
    model = EntryPublic.model_validate(entry_json(entry)).model_dump(mode="json")
    plain = entry_json(entry)
    for field in ("effective_at", "recorded_at", "expires_at"):
        assert plain[field] == model[field]


def test_the_same_instant_in_two_zones_keeps_each_its_own_text() -> None:
    utc = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    paris = utc.astimezone(timezone(timedelta(hours=1)))
    assert utc == paris
    first, second = entry_json(_entry(utc, utc, None)), entry_json(_entry(paris, paris, None))
    assert first["effective_at"] == "2026-12-03T12:00:00Z"
    assert second["effective_at"] == "2026-12-03T13:00:00+01:00"
