"""Operations: liveness, readiness and metrics, public without credentials."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import func, select, text

from api.context import ApiContext
from api.deps import Context
from chain.health import HALTING, HEALING, AnchoringHealth
from chain.localnode import rpc_chain_id
from chain.saga import TxState
from chain.tables import anchors
from ledger.tokenlog import TokenLog

router = APIRouter(tags=["operations"])

CHAIN_PROBE_TIMEOUT_S = 0.5
ALERT_KINDS = (*HALTING, *HEALING)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


def _anchoring_health(context: ApiContext) -> AnchoringHealth | None:
    return None if context.chain is None else context.chain.health()


@router.get(
    "/readyz", responses={503: {"description": "The database or the chain does not answer"}}
)
def readyz(context: Context) -> JSONResponse:
    """Readiness: the database answers, and, when anchoring is on, the chain does and
    anchoring is neither halted nor behind a rollback it has not healed yet."""
    body: dict[str, object] = {"status": "ok", "database": "ok", "chain": "disabled"}
    try:
        with context.ledger.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:
        body.update(status="unavailable", database=type(error).__name__)
    if context.chain is not None:
        chain_id = rpc_chain_id(context.chain.config.rpc_url, timeout_s=CHAIN_PROBE_TIMEOUT_S)
        body["chain"] = "unreachable" if chain_id is None else f"ok (chain id {chain_id})"
        if chain_id is None:
            body["status"] = "unavailable"
        anchoring = _anchoring_health(context)
        if anchoring is not None:
            body["anchoring"] = anchoring.as_json()
            if anchoring.alerts:
                body["status"] = "unavailable"
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(context: Context, request: Request) -> PlainTextResponse:
    """Prometheus text format: journal head, token log size, anchors by status, alerts, and
    this worker process's request latency."""
    engine = context.ledger.engine
    head = context.ledger.head_seq()
    with engine.connect() as conn:
        by_status: dict[str, int] = dict(
            conn.execute(select(anchors.c.status, func.count()).group_by(anchors.c.status)).all()
        )
        anchored = conn.execute(
            select(func.max(anchors.c.tree_size)).where(anchors.c.status == "confirmed")
        ).scalar()
    log_size = TokenLog(engine).size()
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
    for status in TxState:
        lines.append(f'azora_anchor_attempts{{status="{status}"}} {by_status.get(status, 0)}')
    anchoring = _anchoring_health(context)
    if anchoring is not None:
        kinds = {a.kind for a in anchoring.alerts}
        lines += [
            "# HELP azora_anchoring_alert Open anchoring alerts by kind (1 open, 0 not).",
            "# TYPE azora_anchoring_alert gauge",
            *(f'azora_anchoring_alert{{kind="{k}"}} {int(k in kinds)}' for k in ALERT_KINDS),
            "# HELP azora_anchoring_halted 1 while anchoring waits for an operator.",
            "# TYPE azora_anchoring_halted gauge",
            f"azora_anchoring_halted {int(anchoring.halted)}",
            "# HELP azora_anchor_lag_seconds Age of the oldest leaf not under a confirmed anchor.",
            "# TYPE azora_anchor_lag_seconds gauge",
            f"azora_anchor_lag_seconds {anchoring.lag_s or 0:.3f}",
        ]
    latency = getattr(request.app.state, "latency", None)
    if latency is not None:
        lines += latency.render()
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
