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


def _database_error(context: ApiContext) -> str | None:
    """None when the database answers, else the error's class name."""
    try:
        with context.ledger.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:
        return type(error).__name__
    return None


def _chain_check(context: ApiContext) -> tuple[str, dict[str, object]]:
    """The chain's line (``chain``, as it always read) and its check."""
    if context.chain is None:
        return "disabled", {"status": "disabled", "chain_id": None}
    chain_id = rpc_chain_id(context.chain.config.rpc_url, timeout_s=CHAIN_PROBE_TIMEOUT_S)
    if chain_id is None:
        return "unreachable", {"status": "down", "chain_id": None}
    return f"ok (chain id {chain_id})", {"status": "ok", "chain_id": chain_id}


def _anchor_lag_check(anchoring: AnchoringHealth | None, *, known: bool) -> dict[str, object]:
    if anchoring is None:
        return {"status": "disabled" if known else "unknown", "seconds": None, "leaves": None}
    seconds = None if anchoring.lag_s is None else round(anchoring.lag_s, 3)
    return {"status": anchoring.status, "seconds": seconds, "leaves": anchoring.lag_leaves}


@router.get(
    "/readyz", responses={503: {"description": "The database or the chain does not answer"}}
)
def readyz(context: Context) -> JSONResponse:
    """Readiness (DESIGN: the database and the chain): 503 while the database does not
    answer, or, with anchoring on, the chain's RPC does not. Each is reported in
    ``checks`` with its own status, and so is anchoring's lag: an open anchoring alert or a
    lag is 200 with status ``degraded`` (the worker heals it, or an operator acts on the
    alert rules), never 503, so no anchoring trouble takes the API out of a load balancer."""
    error = _database_error(context)
    chain_line, chain = _chain_check(context)
    anchoring = _anchoring_health(context) if error is None else None
    lag = _anchor_lag_check(anchoring, known=error is None)
    body: dict[str, object] = {
        "status": "ok",
        "database": error or "ok",
        "chain": chain_line,
        "checks": {
            "database": {"status": "down" if error else "ok", "error": error},
            "chain": chain,
            "anchor_lag": lag,
        },
    }
    if anchoring is not None:
        body["anchoring"] = anchoring.as_json()
    if error is not None or chain["status"] == "down":
        body["status"] = "unavailable"
    elif lag["status"] not in ("ok", "disabled"):
        body["status"] = "degraded"
    return JSONResponse(body, status_code=503 if body["status"] == "unavailable" else 200)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(context: Context, request: Request) -> PlainTextResponse:
    """Prometheus text format. From the database (the same in every process): journal
    head, token log, anchors, anchoring alerts, webhook backlog. Counted by this worker
    process (label ``pid``): ledger writes, chain RPC errors, charges, request latency."""
    lines = _database_gauges(context)
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
    if context.webhooks is not None:
        lines += [
            "# HELP azora_webhook_deliveries_pending Webhook deliveries waiting for a 2xx.",
            "# TYPE azora_webhook_deliveries_pending gauge",
            f"azora_webhook_deliveries_pending {context.webhooks.log.pending_total()}",
        ]
    if context.metrics is not None:
        lines += context.metrics.render()
    latency = getattr(request.app.state, "latency", None)
    if latency is not None:
        lines += latency.render()
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


def _database_gauges(context: ApiContext) -> list[str]:
    """The journal's and the anchors' figures, read at scrape time."""
    engine = context.ledger.engine
    head = context.ledger.head_seq()
    confirmed = anchors.c.status == "confirmed"
    with engine.connect() as conn:
        by_status: dict[str, int] = dict(
            conn.execute(select(anchors.c.status, func.count()).group_by(anchors.c.status)).all()
        )
        anchored, anchored_at = conn.execute(
            select(func.max(anchors.c.tree_size), func.max(anchors.c.updated_at)).where(confirmed)
        ).one()
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
        "# HELP azora_last_anchor_age_seconds Seconds since the latest anchor was confirmed "
        "(no sample before the first).",
        "# TYPE azora_last_anchor_age_seconds gauge",
    ]
    if anchored_at is not None:
        age_s = max(0.0, (context.ledger.clock() - anchored_at).total_seconds())
        lines.append(f"azora_last_anchor_age_seconds {age_s:.3f}")
    lines += [
        "# HELP azora_anchor_attempts Anchor attempts by status.",
        "# TYPE azora_anchor_attempts gauge",
    ]
    for status in TxState:
        lines.append(f'azora_anchor_attempts{{status="{status}"}} {by_status.get(status, 0)}')
    return lines
