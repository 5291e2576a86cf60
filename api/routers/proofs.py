"""``/v1/anchors`` and ``/v1/proofs``: what auditors need (DESIGN §7).

Anchors and consistency proofs are public; an entry's inclusion proof and receipt need
credentials (a user token sees the proofs of its own entries only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from api import policy
from api.context import ApiContext
from api.deps import Context, CurrentPrincipal
from api.errors import ApiProblem, problem_response
from api.ids import EntryPath
from api.schemas.common import PROTECTED, problems
from api.schemas.proofs import AnchorPage, ConsistencyProof, EntryProof, Receipt
from chain.anchoring import retry_after_s
from chain.errors import ChainError
from chain.proofs import ANCHORS_MAX_LIMIT, NotAnchored
from chain.receipts import build_receipt

router = APIRouter(tags=["proofs"])
CHAIN_RETRY_AFTER_S = 5
T = TypeVar("T")


@router.get("/v1/anchors", response_model=AnchorPage, responses=problems(422))
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


def anchored_call(context: ApiContext, call: Callable[[int], T]) -> T | Response:
    """``call(retry_after_s)`` for an answer that needs a confirmed anchor, its expected
    failures as problems: 409 ``not-anchored`` with ``Retry-After`` (seconds to the next
    round) while no confirmed anchor covers it; 503 while the chain cannot confirm the
    anchor (nothing is served against an anchor the chain may no longer hold)."""
    book = context.ledger
    try:
        return call(retry_after_s(book.engine, context.config.anchor_interval_s, book.clock))
    except NotAnchored as error:
        return problem_response(
            "not-anchored",
            error.detail,
            headers={"Retry-After": str(error.retry_after_s)},
        )
    except ChainError:
        return problem_response(
            "unavailable",
            "the chain cannot confirm the anchor right now; retry later",
            headers={"Retry-After": str(CHAIN_RETRY_AFTER_S)},
        )


@router.get(
    "/v1/proofs/entries/{entry_id}",
    response_model=EntryProof,
    responses=PROTECTED | problems(404, 503, codes=("not-anchored",)),
)
def entry_proof(
    context: Context,
    entry_id: EntryPath,
    principal: CurrentPrincipal,
) -> Response:
    """Inclusion proof of an entry's token-log leaf against the latest confirmed anchor.

    409 `not-anchored` with `Retry-After` while no confirmed anchor covers it yet; 503 while
    the chain cannot confirm the anchor (a proof is only served against an anchor the chain
    holds).
    """
    policy.require_entry(principal, context.ledger.get_entry(entry_id))
    return _as_built(
        anchored_call(
            context, lambda wait_s: context.proofs.entry_proof(entry_id, retry_after_s=wait_s)
        )
    )


@router.get(
    "/v1/proofs/entries/{entry_id}/receipt",
    response_model=Receipt,
    responses=PROTECTED | problems(404, 503, codes=("not-anchored",)),
)
def entry_receipt(
    context: Context,
    entry_id: EntryPath,
    principal: CurrentPrincipal,
) -> Response:
    """A self-contained receipt (DESIGN §14): the inclusion proof above (`version`,
    `entry_id`, `leaf`, ..., `anchor` with its chain id, contract and tx hash) plus
    `checkpoint`, the log's signed checkpoint of the same anchor, and `checkpoint_key`, its
    verifier key. `azora audit receipt FILE [--rpc URL]` checks it."""
    policy.require_entry(principal, context.ledger.get_entry(entry_id))
    checkpoints = context.checkpoints
    if checkpoints is None:
        raise ApiProblem("unavailable", "this service signs no checkpoints")
    return _as_built(
        anchored_call(
            context,
            lambda wait_s: build_receipt(
                context.proofs, checkpoints, entry_id, retry_after_s=wait_s
            ),
        )
    )


def _as_built(result: dict[str, Any] | Response) -> Response:
    """The JSON as the proofs built it (no model round trip: ``leaf`` stays byte-exact)."""
    return result if isinstance(result, Response) else JSONResponse(result)


@router.get(
    "/v1/proofs/consistency",
    response_model=ConsistencyProof,
    responses=problems(404, 422, 503),
)
def consistency_proof(
    context: Context,
    from_size: Annotated[int, Query(alias="from", ge=1, le=2**63 - 1)],
    to_size: Annotated[int, Query(alias="to", ge=1, le=2**63 - 1)],
) -> JSONResponse:
    """Consistency proof between two anchored tree sizes (RFC 9162 §2.1.4)."""
    if from_size > to_size:
        raise ApiProblem("invalid-request", "`from` must not be above `to`")
    return JSONResponse(context.proofs.consistency(from_size, to_size))
