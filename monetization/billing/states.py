"""The subscription state machine, written down as a transition table.

``TRANSITIONS`` is the whole machine: ``(status before, event) -> status after``. The code
asks :func:`next_status` before every change, and migration ``0010_billing`` copies the same
triples into a CHECK on ``billing_subscription_events``, so the database refuses a change
the table does not allow (a unit test compares the two).

``active`` covers every plan, free included; ``past_due`` is a paid plan whose renewal failed
(inside its grace period, still served); ``canceled`` is a paid subscription that ended
(canceled at period end, or grace over): the user is on ``free`` again.
"""

from __future__ import annotations

from enum import StrEnum

from monetization.billing.errors import SubscriptionStateConflict


class Status(StrEnum):
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"


class Event(StrEnum):
    SUBSCRIBE = "subscribe"  # free (or ended, or past due) -> a paid plan, full price now
    UPGRADE = "upgrade"  # to a dearer plan at once, prorated
    SCHEDULE_DOWNGRADE = "schedule_downgrade"  # to a cheaper plan at the period's end
    CANCEL = "cancel"  # ends at the period's end
    RESUME = "resume"  # undoes a scheduled cancel or downgrade
    RENEW = "renew"  # a new period paid (possibly on the scheduled plan)
    RENEWAL_FAILED = "renewal_failed"  # a renewal or retry was declined
    SWITCH_TO_FREE = "switch_to_free"  # a scheduled downgrade to free took effect
    END = "end"  # a cancel took effect at the period's end
    EXPIRE = "expire"  # the grace period ran out: back to free
    END_NOW = "end_now"  # canceled while past due: nothing left to serve


A, P, C = Status.ACTIVE, Status.PAST_DUE, Status.CANCELED

TRANSITIONS: dict[tuple[Status, Event], Status] = {
    (A, Event.SUBSCRIBE): A,
    (C, Event.SUBSCRIBE): A,
    (P, Event.SUBSCRIBE): A,
    (A, Event.UPGRADE): A,
    (A, Event.SCHEDULE_DOWNGRADE): A,
    (A, Event.CANCEL): A,
    (A, Event.RESUME): A,
    (A, Event.RENEW): A,
    (P, Event.RENEW): A,
    (A, Event.RENEWAL_FAILED): P,
    (P, Event.RENEWAL_FAILED): P,
    (A, Event.SWITCH_TO_FREE): A,
    (A, Event.END): C,
    (P, Event.EXPIRE): C,
    (P, Event.END_NOW): C,
}


def next_status(status: Status, event: Event) -> Status:
    """The status after ``event``; :class:`SubscriptionStateConflict` if not allowed."""
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise SubscriptionStateConflict(
            f"a subscription that is {status.value} cannot {event.value.replace('_', ' ')}"
        ) from None


def allowed_triples() -> list[tuple[str, str, str]]:
    """``(event, from, to)`` as the migration's CHECK lists them."""
    return sorted((e.value, s.value, t.value) for (s, e), t in TRANSITIONS.items())


class ChangeStatus(StrEnum):
    """A paid change (subscribe, upgrade) is a saga: recorded, charged, then applied.

    A declined (or unavailable) charge deletes its row: nothing changed, the key is free.
    """

    PENDING = "pending"  # recorded with the key of its charge; nothing paid yet
    CHARGED = "charged"  # the provider captured it and the ledger recorded it
    APPLIED = "applied"  # the subscription changed


CHANGE_TRANSITIONS: dict[ChangeStatus, frozenset[ChangeStatus]] = {
    ChangeStatus.PENDING: frozenset({ChangeStatus.CHARGED}),
    ChangeStatus.CHARGED: frozenset({ChangeStatus.APPLIED}),
    ChangeStatus.APPLIED: frozenset(),
}
