"""Rewards: the redemption state table enforced by the database.

The CHECKs on ``status`` and on ``(status, intent)``, and a trigger refusing any status
change that is not a transition of the table, all built from the frozen copy of
``monetization/rewards/states.py`` (``migrations.frozen.REDEMPTION_*_0060``).

PostgreSQL: two CHECK constraints (the status one of 0004 rebuilt from the table) and a
``BEFORE UPDATE OF status`` trigger. SQLite cannot add a constraint to a table: the
``(status, intent)`` rule is two triggers (on insert, on update), the transitions a third;
0004's status CHECK stays (the same statuses).

Revision ID: 0060_rewards_states
Revises: 0050_licensing
Create Date: 2026-12-05

Only alembic, sqlalchemy and ``migrations.frozen`` are imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from alembic import op

from migrations.frozen import REDEMPTION_INTENTS_0060 as INTENTS
from migrations.frozen import REDEMPTION_STATUSES_0060 as STATUSES
from migrations.frozen import REDEMPTION_TRANSITIONS_0060 as TRANSITIONS

revision: str = "0060_rewards_states"
down_revision: str | Sequence[str] | None = "0050_licensing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "reward_redemptions"
STATUS_CHECK = "reward_redemptions_status"
INTENT_CHECK = "reward_redemptions_intent"
TRANSITION = "reward_redemptions_transition"
PG_FUNCTION = "azora_redemption_transition"
SQLITE_INTENT_TRIGGERS = ("reward_redemptions_intent_insert", "reward_redemptions_intent_update")


def _quoted(values: Iterable[object]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def status_sql(row: str = "") -> str:
    return f"{row}status IN ({_quoted(STATUSES)})"


def intent_sql(row: str = "") -> str:
    """``(status, intent)`` is a pair of the table. Every term is TRUE or FALSE, never
    NULL (a CHECK, and a trigger's WHEN, let NULL through)."""
    parts = []
    for status in STATUSES:
        named = [i for i in INTENTS[status] if i is not None]
        terms = [f"{row}intent IS NULL"] if None in INTENTS[status] else []
        if named:
            terms.append(f"({row}intent IS NOT NULL AND {row}intent IN ({_quoted(named)}))")
        parts.append(f"({row}status = '{status}' AND ({' OR '.join(terms)}))")
    return " OR ".join(parts)


def moves_sql() -> str:
    """The old and new status of an UPDATE are a transition of the table."""
    return f"(OLD.status || '>' || NEW.status) IN ({_quoted(f'{a}>{b}' for a, b in TRANSITIONS)})"


PG_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND NOT ({moves_sql()}) THEN
    RAISE EXCEPTION 'azora: redemption % may not move from % to %',
      OLD.id, OLD.status, NEW.status USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$
"""


def _postgresql() -> None:
    op.drop_constraint(STATUS_CHECK, TABLE, type_="check")
    op.create_check_constraint(STATUS_CHECK, TABLE, status_sql())
    op.create_check_constraint(INTENT_CHECK, TABLE, intent_sql())
    op.execute(PG_FUNCTION_SQL)
    op.execute(
        f"CREATE TRIGGER {TRANSITION} BEFORE UPDATE OF status ON {TABLE} "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()"
    )


def _sqlite() -> None:
    for trigger, event in zip(SQLITE_INTENT_TRIGGERS, ("INSERT", "UPDATE"), strict=True):
        op.execute(
            f"CREATE TRIGGER {trigger} BEFORE {event} ON {TABLE} "
            f"FOR EACH ROW WHEN NOT ({intent_sql('NEW.')}) "
            f"BEGIN SELECT RAISE(ABORT, 'azora: CHECK constraint failed: {INTENT_CHECK}'); END"
        )
    op.execute(
        f"CREATE TRIGGER {TRANSITION} BEFORE UPDATE OF status ON {TABLE} "
        f"FOR EACH ROW WHEN NEW.status <> OLD.status AND NOT ({moves_sql()}) "
        f"BEGIN SELECT RAISE(ABORT, 'azora: a redemption may not move that way'); END"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _postgresql()
    elif dialect == "sqlite":
        _sqlite()
    else:
        raise NotImplementedError(f"no redemption state checks for dialect {dialect!r}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TRANSITION} ON {TABLE}")
        op.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")
        op.drop_constraint(INTENT_CHECK, TABLE, type_="check")
        return  # 0004's status CHECK stays as rebuilt: the same statuses
    for trigger in (*SQLITE_INTENT_TRIGGERS, TRANSITION):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
