"""``/v1/anchors`` and ``/v1/proofs``: what auditors need (DESIGN §7).

Anchors and consistency proofs are public; an entry's inclusion proof needs credentials
(a user token sees the proofs of its own entries only).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api import policy
from api.deps import Context, CurrentPrincipal
from api.errors import ApiProblem, problem_response
from api.ids import EntryPath
from api.schemas.common import PROTECTED, problems
from chain.anchoring import retry_after_s
from chain.errors import ChainError
from chain.proofs import ANCHORS_MAX_LIMIT, NotAnchored

router = APIRouter(tags=["proofs"])
CHAIN_RETRY_AFTER_S = 5


@router.get("/v1/anchors", responses=problems(422))
def list_anchors(
    context: Context,
    limit: Annotated[int, Query(ge=1, le=ANCHORS_MAX_LIMIT)] = 100,
    cursor: Annotated[
        int | None,
        Query(ge=1, le=2**63 - 1, description="`next_cursor` of the previous page"),
    ] = None,
) -> dict[str, Any]:
    """Anchors of the token log, newest tree size first: chain id, contract, tx hash, block,
    tree size, root and status (signed, submitted, confirmed, dropped, failed)."""
    found = context.proofs.anchors(limit=limit, before_size=cursor)
    next_cursor = str(found[-1].tree_size) if len(found) == limit else None
    return {"data": [a.as_json() for a in found], "next_cursor": next_cursor}


@router.get(
    "/v1/proofs/entries/{entry_id}",
    responses=PROTECTED | problems(404, 409, 503),
)
def entry_proof(
    context: Context,
    entry_id: EntryPath,
    principal: CurrentPrincipal,
) -> Any:
    """Inclusion proof of an entry's token-log leaf against the latest confirmed anchor.

    409 `not-anchored` with `Retry-After` while no confirmed anchor covers it yet; 503 while
    the chain cannot confirm the anchor (a proof is only served against an anchor the chain
    holds).
    """
    book = context.ledger
    entry = book.get_entry(entry_id)
    policy.require_entry(principal, entry)
    try:
        return context.proofs.entry_proof(
            entry_id,
            retry_after_s=retry_after_s(book.engine, context.config.anchor_interval_s, book.clock),
        )
    except NotAnchored as error:
        return problem_response(
            "not-anchored",
            error.detail,
            headers={"Retry-After": str(error.retry_after_s)},
        )
    except ChainError:
        # The anchor cannot be confirmed on chain right now: no proof rather than one
        # against an anchor the chain may no longer hold.
        return problem_response(
            "unavailable",
            "the chain cannot confirm the anchor right now; retry later",
            headers={"Retry-After": str(CHAIN_RETRY_AFTER_S)},
        )


@router.get("/v1/proofs/consistency", responses=problems(404, 422))
def consistency_proof(
    context: Context,
    from_size: Annotated[int, Query(alias="from", ge=1, le=2**63 - 1)],
    to_size: Annotated[int, Query(alias="to", ge=1, le=2**63 - 1)],
) -> JSONResponse:
    """Consistency proof between two anchored tree sizes (RFC 9162 §2.1.4)."""
    if from_size > to_size:
        raise ApiProblem("invalid-request", "`from` must not be above `to`")
    return JSONResponse(context.proofs.consistency(from_size, to_size))
