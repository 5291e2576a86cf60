"""``/v1/checkpoint`` and ``/v1/checkpoint/key``: the log's signed checkpoint (DESIGN §14).

Both public, ``text/plain``. The checkpoint is a C2SP signed note naming the latest
confirmed anchor (its size and root are ``anchorAt`` of that anchor); the key is the
verifier key ``<name>+<hex key id>+<base64(0x01 ‖ Ed25519 public key)>`` to check it with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from api.context import ApiContext
from api.deps import Context
from api.errors import ApiProblem
from api.routers.proofs import anchored_call
from api.schemas.common import problems
from chain.checkpoints import Checkpoints

router = APIRouter(tags=["proofs"])
TEXT = "text/plain; charset=utf-8"
T = TypeVar("T")

_TEXT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {TEXT: {"schema": {"type": "string"}}}}
}


def checkpoint_call(context: ApiContext, call: Callable[[Checkpoints, int], T]) -> T | Response:
    """``call(checkpoints, retry_after_s)`` with the proofs' problems (409 ``not-anchored``
    before the first confirmed anchor, 503 while the chain cannot confirm it); a checkpoint
    the log cannot sign is a 503 ``unavailable`` too (:class:`ledger.Unavailable`)."""
    checkpoints = context.checkpoints
    if checkpoints is None:
        raise ApiProblem("unavailable", "this service signs no checkpoints")
    return anchored_call(context, lambda wait_s: call(checkpoints, wait_s))


@router.get(
    "/v1/checkpoint",
    response_class=PlainTextResponse,
    responses=_TEXT_RESPONSE | problems(409, 503),
)
def checkpoint(context: Context) -> Response:
    """The log's signed checkpoint (C2SP tlog-checkpoint) of the latest confirmed anchor:
    `<origin>\\n<tree size>\\n<base64 root>\\n\\n— <key name> <base64(key id ‖ signature)>\\n`.
    The root is the keccak256 RFC 9162 root of DESIGN §7."""
    signed = checkpoint_call(context, lambda c, wait_s: c.latest(retry_after_s=wait_s).note)
    if isinstance(signed, Response):
        return signed
    return PlainTextResponse(signed, media_type=TEXT, headers={"Cache-Control": "no-cache"})


@router.get(
    "/v1/checkpoint/key",
    response_class=PlainTextResponse,
    responses=_TEXT_RESPONSE | problems(409, 503),
)
def checkpoint_key(context: Context) -> Response:
    """The verifier key of the checkpoints: `<name>+<hex key id>+<base64(0x01 ‖ key)>`."""
    key = checkpoint_call(context, lambda c, wait_s: c.verifier_key(retry_after_s=wait_s))
    if isinstance(key, Response):
        return key
    return PlainTextResponse(key, media_type=TEXT)
