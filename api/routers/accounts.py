"""``/v1/accounts``: open accounts, read balances and history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api.deps import LedgerDep, Reader, Writer, ensure_account_visible
from api.errors import ApiProblem
from api.schemas.accounts import AccountCreate, AccountPublic, HistoryItem, HistoryPage
from api.schemas.common import PROTECTED, problems
from ledger import asset as asset_of
from ledger import format_amount
from ledger.service import HISTORY_MAX_LIMIT

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], responses=PROTECTED)

AccountIdPath = Annotated[str, Path(max_length=128, examples=["user:42:usd"])]
CURSOR_MAX_CHARS = 20


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=problems(403, 404, 409)
    | {200: {"model": AccountPublic, "description": "It existed, identical"}},
)
def create_account(
    body: AccountCreate, book: LedgerDep, _p: Writer, response: Response
) -> AccountPublic:
    """Open an account. Opening an identical one again answers 200 with it; one of that id
    with other settings is 409 `account-exists`."""
    account, created = book.create_account(body.to_ledger())
    if not created:
        response.status_code = status.HTTP_200_OK
    return AccountPublic.build(account, book.balance(account.id))


@router.get("/{account_id}", responses=problems(404))
def get_account(account_id: AccountIdPath, book: LedgerDep, principal: Reader) -> AccountPublic:
    """The account with its balance, open holds and available amount."""
    ensure_account_visible(principal, account_id)
    return AccountPublic.build(book.get_account(account_id), book.balance(account_id))


@router.get("/{account_id}/entries", responses=problems(404))
def get_history(
    account_id: AccountIdPath,
    book: LedgerDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=HISTORY_MAX_LIMIT)] = 100,
    cursor: Annotated[
        str | None,
        Query(max_length=CURSOR_MAX_CHARS, description="`next_cursor` of the previous page"),
    ] = None,
) -> HistoryPage:
    """The account's history, newest first, each line with the balance after it."""
    ensure_account_visible(principal, account_id)
    before_seq = _parse_cursor(cursor)
    unit = asset_of(book.get_account(account_id).asset)
    lines = book.history(account_id, before_seq=before_seq, limit=limit)
    more = len(lines) == limit and bool(book.history(account_id, before_seq=lines[-1].seq, limit=1))
    return HistoryPage(
        data=[
            HistoryItem(
                entry_id=line.entry_id,
                seq=line.seq,
                kind=line.kind,
                amount=format_amount(line.amount, unit),
                balance_after=format_amount(line.balance_after, unit),
                effective_at=line.effective_at,
            )
            for line in lines
        ],
        next_cursor=str(lines[-1].seq) if more else None,
    )


def _parse_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isascii() or not cursor.isdigit():
        raise ApiProblem("invalid-request", "cursor must be a next_cursor from a previous page")
    return int(cursor)
