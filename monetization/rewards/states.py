"""The redemption state machine, written once as data: pure, no I/O.

:data:`TRANSITIONS` is the one table of every status change a redemption may make. The
workflow moves a row only along it (each move is a conditional UPDATE from the source
status), and the database refuses any other: migration ``0060_rewards_states`` builds its
CHECK constraints and its transition trigger from a frozen copy of this table
(``migrations/frozen.py``, compared with this one by a unit test).

Besides its status a row carries an *intent*: what an action claimed will end it
(fulfilled, cancelled, rejected, failed), written before the hold is resolved, so that the
final status can be derived from the hold after any crash (:data:`OUTCOMES`).
:data:`INTENTS` says which intents each status may carry.

Settling a row is a lookup too: :func:`settle_step` names the one next step for a row and
its hold (post the hold, abandon an unsigned mint, record an expiry, finish, or nothing),
and the settler runs steps until it says :attr:`Step.DONE`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from ledger import HoldStatus


class RedemptionStatus(StrEnum):
    REQUESTED = "requested"  # row written, hold not yet confirmed (only seen after a crash)
    HELD = "held"  # tokens reserved by a pending entry
    MINTING = "minting"  # withdrawal: mint being signed, sent, or waiting for confirmation
    FULFILLED = "fulfilled"  # hold posted
    CANCELLED = "cancelled"  # by the user: hold voided
    REJECTED = "rejected"  # by an admin: hold voided
    FAILED = "failed"  # fulfilment failed (e.g. the mint reverted): hold voided
    EXPIRED = "expired"  # the hold's deadline passed

    @property
    def terminal(self) -> bool:
        return not NEXT[self]


_S = RedemptionStatus

# (from, to, why): every status change there is. Nothing else moves a row.
TRANSITIONS: tuple[tuple[RedemptionStatus, RedemptionStatus, str], ...] = (
    (_S.REQUESTED, _S.HELD, "the hold is posted"),
    (_S.HELD, _S.MINTING, "a withdrawal's fulfilment is claimed: the mint starts"),
    (_S.HELD, _S.FULFILLED, "the hold is posted"),
    (_S.HELD, _S.CANCELLED, "the hold is voided, the user having cancelled"),
    (_S.HELD, _S.REJECTED, "the hold is voided, an admin having rejected"),
    (_S.HELD, _S.FAILED, "the hold is voided without a cancel or a reject"),
    (_S.HELD, _S.EXPIRED, "the hold's deadline passed"),
    (_S.MINTING, _S.FULFILLED, "the mint is confirmed: the hold is posted (or debited late)"),
    (_S.MINTING, _S.FAILED, "the mint reverted, was dropped or never signed: hold voided"),
    (_S.MINTING, _S.EXPIRED, "the deadline passed before any mint was recorded"),
)

NEXT: Mapping[RedemptionStatus, frozenset[RedemptionStatus]] = {
    status: frozenset(b for a, b, _why in TRANSITIONS if a is status) for status in _S
}
TERMINAL = frozenset(s for s in _S if not NEXT[s])
OPEN = frozenset(set(_S) - TERMINAL)
# Rows the workflow creates start here (then a row is only ever moved along TRANSITIONS).
INITIAL = _S.REQUESTED

# What an action may claim will end a row: every intent is a terminal status.
INTENT_VALUES = (_S.FULFILLED, _S.CANCELLED, _S.REJECTED, _S.FAILED)
# Which intents (None: none yet) a row in each status may carry. A final row keeps the
# intent that ended it (or was overtaken, e.g. by the deadline).
INTENTS: Mapping[RedemptionStatus, frozenset[RedemptionStatus | None]] = {
    _S.REQUESTED: frozenset({None}),
    _S.HELD: frozenset({None, _S.FULFILLED, _S.CANCELLED, _S.REJECTED}),
    _S.MINTING: frozenset({_S.FULFILLED, _S.FAILED}),
    **{s: frozenset({None, *INTENT_VALUES}) for s in TERMINAL},
}

# How a resolved hold ends a row, given its intent: (hold status, intent) -> final status.
# Posted is always fulfilled; voided is the recorded intent (a void nobody claimed, or
# claimed by a fulfilment, is a failure); expired is expired.
OUTCOMES: Mapping[tuple[HoldStatus, RedemptionStatus | None], RedemptionStatus] = {
    **{(HoldStatus.POSTED, i): _S.FULFILLED for i in (None, *INTENT_VALUES)},
    **{(HoldStatus.EXPIRED, i): _S.EXPIRED for i in (None, *INTENT_VALUES)},
    (HoldStatus.VOIDED, None): _S.FAILED,
    (HoldStatus.VOIDED, _S.FULFILLED): _S.FAILED,
    (HoldStatus.VOIDED, _S.CANCELLED): _S.CANCELLED,
    (HoldStatus.VOIDED, _S.REJECTED): _S.REJECTED,
    (HoldStatus.VOIDED, _S.FAILED): _S.FAILED,
}


def can_move(source: RedemptionStatus, target: RedemptionStatus) -> bool:
    return target in NEXT[source]


def outcome(hold: HoldStatus, intent: RedemptionStatus | None) -> RedemptionStatus:
    """The final status of a row whose hold ended as ``hold`` (``hold`` is not pending)."""
    return OUTCOMES[(hold, intent)]


# --- actions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Action:
    """A request to end a held redemption, by the intent it claims (written before the
    hold is resolved; of racing actions, the first claim wins)."""

    name: str
    intent: RedemptionStatus


FULFIL = Action("fulfil", _S.FULFILLED)
CANCEL = Action("cancel", _S.CANCELLED)
REJECT = Action("reject", _S.REJECTED)
# Only a held row without an intent can be claimed. A withdrawal's fulfilment claim also
# moves it to minting (the chain ends it, not the claim).
CLAIMABLE = _S.HELD
CLAIM_MOVES_WITHDRAWAL_TO = _S.MINTING


def action_won(
    action: Action, claimed: bool, status: RedemptionStatus, intent: RedemptionStatus | None
) -> bool:
    """Whether ``action`` ended (or is ending) the row now in ``status`` with ``intent``.

    It won if its own claim was taken (``claimed``) and the deadline did not overtake it,
    or if an earlier call of the same action did (a repeat). Otherwise another action, the
    deadline or a failure won, and the caller answers a conflict with that state.
    """
    if status is _S.EXPIRED:
        return False  # no action ends a row as expired: the deadline won
    if claimed:
        return True
    if status is action.intent:
        return True
    return status in OPEN and intent is action.intent


# --- settling ------------------------------------------------------------------------------


class Step(StrEnum):
    DONE = "done"  # nothing to do now: the row is final, or waits (a request, a mint)
    POST_HOLD = "post_hold"  # a requested row past its grace: post its hold (deduplicated)
    ABANDON_MINT = "abandon_mint"  # a claimed withdrawal never signed, past its deadline
    EXPIRE_HOLD = "expire_hold"  # a pending hold past its deadline: record the expiry
    FINISH = "finish"  # the hold ended: move the row to OUTCOMES[hold, intent]


class RowView(Protocol):
    """What :func:`settle_step` reads of a row (a :class:`~.model.Redemption`)."""

    @property
    def status(self) -> RedemptionStatus: ...
    @property
    def intent(self) -> RedemptionStatus | None: ...
    @property
    def hold_entry_id(self) -> str | None: ...
    @property
    def mint(self) -> object | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime: ...


def settle_step(
    row: RowView, hold: HoldStatus | None, now: datetime, requested_grace: timedelta
) -> Step:
    """The next step that brings ``row`` in line with its ``hold`` (None: not looked up,
    as for a requested row or one without a hold).

    While a mint is (or may be about to be) in flight, the chain ends the redemption, not
    the hold's deadline; without a recorded mint, a passed deadline first abandons the row
    (which the recording of a late signer then loses).
    """
    if row.status is _S.REQUESTED:
        return Step.POST_HOLD if now - row.created_at >= requested_grace else Step.DONE
    if row.status not in OPEN or row.hold_entry_id is None or hold is None:
        return Step.DONE
    mint_decides = (
        row.status is _S.MINTING
        and row.intent is _S.FULFILLED
        and hold is not HoldStatus.POSTED
        and (row.mint is not None or hold is HoldStatus.PENDING)
    )
    if mint_decides:
        if row.mint is None and row.expires_at <= now:
            return Step.ABANDON_MINT
        return Step.DONE
    if hold is HoldStatus.PENDING:
        return Step.EXPIRE_HOLD if row.expires_at <= now else Step.DONE
    return Step.FINISH


def needs_hold(row: RowView) -> bool:
    """Whether :func:`settle_step` must know the row's hold status."""
    return row.status in OPEN and row.status is not _S.REQUESTED and row.hold_entry_id is not None


# --- the database's copy --------------------------------------------------------------------


def _quoted(values: Iterable[object]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def status_check_sql() -> str:
    return f"status IN ({_quoted(_S)})"


def intent_check_sql() -> str:
    """``(status, intent)`` is one of :data:`INTENTS`' pairs (NULL-safe: a CHECK passes
    on NULL, so every term is TRUE or FALSE)."""
    parts = []
    for status in _S:
        named = [i for i in INTENT_VALUES if i in INTENTS[status]]
        terms = ["intent IS NULL"] if None in INTENTS[status] else []
        if named:
            terms.append(f"(intent IS NOT NULL AND intent IN ({_quoted(named)}))")
        parts.append(f"(status = '{status}' AND ({' OR '.join(terms)}))")
    return " OR ".join(parts)
