"""``azora billing run [--now ISO-8601]``. The composition root registers it with
:func:`register` and a factory that builds :class:`Billing` from its configuration."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import click

from ledger import LedgerError
from monetization.billing import Billing

YEAR_MIN, YEAR_MAX = 1970, 9998  # a period must be able to end a month later
BillingFactory = Callable[[], AbstractContextManager[Billing]]


def parse_now(text: str | None) -> datetime | None:
    """An ISO-8601 instant (``2030-07-01T00:00:00Z``, offsets allowed; no offset: UTC)."""
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO-8601 instant", param_hint="--now"
        ) from None
    at = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if not YEAR_MIN <= at.year <= YEAR_MAX:
        raise click.BadParameter(f"--now must fall in {YEAR_MIN}..{YEAR_MAX}", param_hint="--now")
    return at


def register(main: click.Group, billing: BillingFactory) -> None:
    @main.group(name="billing")
    def group() -> None:
        """Subscriptions: the billing run."""

    @group.command("run")
    @click.option("--now", "now_text", default=None, help="Bill as of this instant (ISO-8601).")
    def run(now_text: str | None) -> None:
        """Renew what is due, retry failed renewals, end what was canceled. Safe to run
        twice or concurrently: one charge per subscription per period."""
        now = parse_now(now_text)
        with billing() as service:
            try:
                report = service.run(now)
            except LedgerError as error:
                raise click.ClickException(error.detail) from None
        click.echo(report.line())
