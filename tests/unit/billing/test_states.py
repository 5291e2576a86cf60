"""The transition table in the code is the one the migration's CHECK enforces."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from monetization.billing.states import TRANSITIONS, ChangeStatus, Event, Status, allowed_triples
from monetization.payments.attempts import AttemptStatus

VERSIONS = Path(__file__).resolve().parents[3] / "migrations" / "versions"


def _migration(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, VERSIONS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_enforces_exactly_the_code_transitions() -> None:
    migration = _migration("0010_billing")
    assert sorted(migration.TRANSITIONS) == allowed_triples()
    assert set(migration.STATUSES) == {s.value for s in Status}
    assert set(migration.CHANGE_STATUSES) == {s.value for s in ChangeStatus}
    assert set(migration.CHANGE_EVENTS) <= {e.value for e in Event}


def test_payment_attempt_statuses_match() -> None:
    migration = _migration("0011_payments")
    assert set(migration.ATTEMPT_STATUSES) == {s.value for s in AttemptStatus}


def test_every_event_is_used_and_only_canceled_leaves_a_paid_plan() -> None:
    assert {event for _, event in TRANSITIONS} == set(Event)
    assert {after for (_, _), after in TRANSITIONS.items()} == set(Status)


def test_the_seeded_features_cover_every_plan() -> None:
    migration = _migration("0010_billing")
    assert len(migration.FEATURES) >= 20
    keys = [f[0] for f in migration.FEATURES]
    assert len(set(keys)) == len(keys)
    for _key, kind, _name, _description, values in migration.FEATURES:
        assert len(values) == len(migration.PLANS)
        if kind == "boolean":
            assert all(isinstance(v, bool) for v in values)
        else:
            assert all(v is None or (type(v) is int and v >= 0) for v in values)
