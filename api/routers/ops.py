"""Operations: liveness, readiness and metrics, public without credentials."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import func, select, text

from api.deps import Context, LedgerDep
from ledger.store.tables import anchors, journal_head
from ledger.tokenlog import TokenLog

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz", responses={503: {"description": "The database or the chain does not answer"}}
)
def readyz(context: Context) -> JSONResponse:
    """Readiness: the database answers, and the chain does when anchoring is on."""
    body = {"status": "ok", "database": "ok", "chain": "disabled"}
    try:
        with context.ledger.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:
        body.update(status="unavailable", database=type(error).__name__)
    chain = context.chain_status()
    body["chain"] = chain.detail
    if not chain.ok:
        body["status"] = "unavailable"
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(book: LedgerDep) -> PlainTextResponse:
    """Prometheus text format: journal head, token log size, anchors by status."""
    with book.engine.connect() as conn:
        head = conn.execute(select(journal_head.c.seq)).scalar() or 0
        by_status: dict[str, int] = dict(
            conn.execute(select(anchors.c.status, func.count()).group_by(anchors.c.status)).all()
        )
        anchored = conn.execute(
            select(func.max(anchors.c.tree_size)).where(anchors.c.status == "confirmed")
        ).scalar()
    log_size = TokenLog(book.engine).size()
    lines = [
        "# HELP azora_journal_seq Sequence number of the last journal entry.",
        "# TYPE azora_journal_seq gauge",
        f"azora_journal_seq {head}",
        "# HELP azora_token_log_size Leaves in the token log.",
        "# TYPE azora_token_log_size gauge",
        f"azora_token_log_size {log_size}",
        "# HELP azora_anchored_tree_size Tree size of the latest confirmed anchor.",
        "# TYPE azora_anchored_tree_size gauge",
        f"azora_anchored_tree_size {anchored or 0}",
        "# HELP azora_unanchored_leaves Leaves not yet under a confirmed anchor.",
        "# TYPE azora_unanchored_leaves gauge",
        f"azora_unanchored_leaves {log_size - (anchored or 0)}",
        "# HELP azora_anchor_attempts Anchor attempts by status.",
        "# TYPE azora_anchor_attempts gauge",
    ]
    for status in ("signed", "submitted", "confirmed", "dropped", "failed"):
        lines.append(f'azora_anchor_attempts{{status="{status}"}} {by_status.get(status, 0)}')
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
