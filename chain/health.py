"""Anchoring's alerts (``chain_alerts``) and health, as /readyz and /metrics report them.

An alert is open until cleared. ``refused`` (the contract refused an anchor the worker built
honestly) and ``inconsistent-log`` (the log no longer extends the anchored root) **halt**
anchoring until an operator has looked and cleared them (:func:`clear_alerts`, ``azora
anchor --resume``); ``rollback`` (confirmed anchors vanished from the chain) and
``nonce-gap`` degrade it and are cleared by the worker once the chain agrees again, as are
``unfunded`` (the key cannot pay for gas) and ``fee-cap`` (fees above the configured cap).
Everything is read from the database, so every process reports the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from chain.tables import anchors, chain_alerts
from ledger.tokenlog import TokenLog

HALTING = ("refused", "inconsistent-log")
HEALING = ("rollback", "nonce-gap", "unfunded", "fee-cap")
DETAIL_MAX_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str
    detail: str
    raised_at: datetime

    @property
    def halts(self) -> bool:
        return self.kind in HALTING

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "raised_at": self.raised_at.isoformat()}


class WorkerStatus:
    """This process's last anchoring round (thread-safe): what it did, or why it failed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last_action: str | None = None
        self.last_error: str | None = None
        self.last_round_at: datetime | None = None

    def ran(self, action: str, at: datetime) -> None:
        with self._lock:
            self.last_action, self.last_error, self.last_round_at = action, None, at

    def failed(self, error: str, at: datetime) -> None:
        with self._lock:
            self.last_error, self.last_round_at = error[:DETAIL_MAX_CHARS], at


def raise_alert(
    engine: Engine, chain_id: int, contract: str, *, kind: str, detail: str, now: datetime
) -> bool:
    """Opens an alert of ``kind`` unless one is open; True when this call opened it."""
    scope = (chain_alerts.c.chain_id == chain_id, chain_alerts.c.contract == contract)
    try:
        with engine.begin() as conn:
            open_ = conn.execute(
                select(chain_alerts.c.id).where(
                    *scope, chain_alerts.c.kind == kind, chain_alerts.c.cleared_at.is_(None)
                )
            ).first()
            if open_ is not None:
                return False
            conn.execute(
                insert(chain_alerts).values(
                    chain_id=chain_id,
                    contract=contract,
                    kind=kind,
                    detail=detail[:DETAIL_MAX_CHARS],
                    raised_at=now,
                )
            )
    except IntegrityError:
        return False  # opened by another process meanwhile
    return True


def clear_alerts(
    engine: Engine, chain_id: int, contract: str, *, kinds: Iterable[str], now: datetime
) -> int:
    """Clears the open alerts of ``kinds``; how many were open."""
    with engine.begin() as conn:
        return int(
            conn.execute(
                update(chain_alerts)
                .where(
                    chain_alerts.c.chain_id == chain_id,
                    chain_alerts.c.contract == contract,
                    chain_alerts.c.kind.in_(list(kinds)),
                    chain_alerts.c.cleared_at.is_(None),
                )
                .values(cleared_at=now)
            ).rowcount
        )


def open_alerts(engine: Engine, chain_id: int | None, contract: str | None) -> list[Alert]:
    stmt = select(chain_alerts).where(chain_alerts.c.cleared_at.is_(None))
    if chain_id is not None:
        stmt = stmt.where(chain_alerts.c.chain_id == chain_id)
    if contract is not None:
        stmt = stmt.where(chain_alerts.c.contract == contract)
    with engine.connect() as conn:
        rows = conn.execute(stmt.order_by(chain_alerts.c.raised_at)).all()
    return [Alert(r.kind, r.detail, r.raised_at) for r in rows]


@dataclass(frozen=True, slots=True)
class AnchoringHealth:
    """``status``: ok, degraded (an alert that heals itself, or this process's last round
    failed) or halted (an alert an operator must clear)."""

    log_size: int
    anchored_size: int
    anchored_index: int | None
    anchored_at: datetime | None
    lag_s: float | None
    alerts: tuple[Alert, ...]
    last_error: str | None

    @property
    def lag_leaves(self) -> int:
        return self.log_size - self.anchored_size

    @property
    def halted(self) -> bool:
        return any(a.halts for a in self.alerts)

    @property
    def status(self) -> str:
        if self.halted:
            return "halted"
        return "degraded" if self.alerts or self.last_error else "ok"

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "log_size": self.log_size,
            "anchored_size": self.anchored_size,
            "anchored_index": self.anchored_index,
            "anchored_at": self.anchored_at.isoformat() if self.anchored_at else None,
            "lag_leaves": self.lag_leaves,
            "lag_s": None if self.lag_s is None else round(self.lag_s, 3),
            "alerts": [a.as_json() for a in self.alerts],
            "last_error": self.last_error,
        }


def anchoring_health(
    engine: Engine,
    chain_id: int | None,
    contract: str | None,
    status: WorkerStatus,
    clock: Callable[[], datetime],
) -> AnchoringHealth:
    stmt = select(anchors.c.tree_size, anchors.c.anchor_index, anchors.c.updated_at).where(
        anchors.c.status == "confirmed"
    )
    if chain_id is not None:
        stmt = stmt.where(anchors.c.chain_id == chain_id)
    if contract is not None:
        stmt = stmt.where(anchors.c.contract == contract)
    with engine.connect() as conn:
        latest = conn.execute(stmt.order_by(anchors.c.tree_size.desc()).limit(1)).first()
        oldest = conn.execute(select(func.min(anchors.c.created_at))).scalar()
    log_size = TokenLog(engine).size()
    anchored_at = latest.updated_at if latest else None
    since = anchored_at or oldest
    lag_s = (clock() - since).total_seconds() if since is not None and log_size else None
    return AnchoringHealth(
        log_size=log_size,
        anchored_size=latest.tree_size if latest else 0,
        anchored_index=latest.anchor_index if latest else None,
        anchored_at=anchored_at,
        lag_s=lag_s if latest is None or latest.tree_size < log_size else 0.0,
        alerts=tuple(open_alerts(engine, chain_id, contract)),
        last_error=status.last_error,
    )
