"""``azora billing run [--now ISO-8601]``: renewals, retries and period ends."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from azora.cli.base import CliState, pass_state

YEAR_MIN, YEAR_MAX = 1970, 9998  # a period must be able to end a month later


def parse_now(text: str | None) -> datetime | None:
    """An ISO-8601 instant (``2030-07-01T00:00:00Z``, offsets allowed; no offset: UTC)."""
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r:.80} is not an ISO-8601 instant", param_hint="--now"
        ) from None
    out_of_range = click.BadParameter(
        f"--now must fall in {YEAR_MIN}..{YEAR_MAX}", param_hint="--now"
    )
    try:
        at = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:
        raise out_of_range from None
    if not YEAR_MIN <= at.year <= YEAR_MAX:
        raise out_of_range
    return at


@click.group()
def billing() -> None:
    """Subscriptions: the billing run."""


@billing.command("run")
@click.option("--now", "now_text", default=None, help="Bill as of this instant (ISO-8601).")
@pass_state
def run(state: CliState, now_text: str | None) -> None:
    """Renew what is due, retry failed renewals, end what was canceled. Safe to run twice
    or concurrently: one charge per subscription per period."""
    now = parse_now(now_text)
    report = state.container().billing.run(now)
    click.echo(report.line())


def register(main: click.Group) -> None:
    main.add_command(billing)
