"""``/v1/accounts``: open accounts, read balances and history."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api import policy
from api.deps import LedgerDep, Reader, Writer
from api.ids import (
    AccountCursor,
    AccountPath,
    AccountPrefixQuery,
    AssetQuery,
    Limit,
    SeqCursor,
    seq_cursor,
)
from api.schemas.accounts import (
    AccountCreate,
    AccountPage,
    AccountPublic,
    HistoryItem,
    HistoryPage,
)
from api.schemas.common import PROTECTED, problems
from ledger import asset as asset_of
from ledger import format_amount

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], responses=PROTECTED)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=problems(403, codes=("account-exists", "invalid-account", "unknown-asset"))
    | {200: {"model": AccountPublic, "description": "It existed, identical"}},
)
def create_account(
    body: AccountCreate, book: LedgerDep, _p: Writer, response: Response
) -> AccountPublic:
    """Open an account. Opening an identical one again answers 200 with it; one of that id
    with other settings is 409 `account-exists`. Only `world:`, `platform:` and `system:`
    accounts may go negative; `user:{id}:azr` accounts hold AZR."""
    policy.require_openable_account(body.id, body.asset, body.allow_negative)
    account, created = book.create_account(body.to_ledger())
    if not created:
        response.status_code = status.HTTP_200_OK
    return AccountPublic.build(account, book.balance(account.id))


@router.get("", responses=problems(403, codes=("invalid-request", "unknown-asset")))
def list_accounts(
    *,
    book: LedgerDep,
    principal: Reader,
    prefix: AccountPrefixQuery = "",
    asset: AssetQuery = None,
    limit: Limit = 100,
    cursor: AccountCursor = None,
) -> AccountPage:
    """Accounts in id order, each with its balance: those whose id starts with `prefix`,
    of `asset` (422 `unknown-asset` for another). A user token lists its own accounts."""
    visible = policy.listable_prefix(principal, prefix)
    if visible is None:
        return AccountPage(data=[], next_cursor=None)
    found = book.list_accounts(prefix=visible, asset=asset, after_id=cursor, limit=limit + 1)
    page = found[:limit]
    return AccountPage(
        data=[AccountPublic.build(account, balance) for account, balance in page],
        next_cursor=page[-1][0].id if len(found) > limit else None,
    )


@router.get("/{account_id}", responses=problems(404))
def get_account(account_id: AccountPath, book: LedgerDep, principal: Reader) -> AccountPublic:
    """The account with its balance, open holds and available amount."""
    policy.require_account(principal, account_id)
    return AccountPublic.build(book.get_account(account_id), book.balance(account_id))


@router.get("/{account_id}/entries", responses=problems(404))
def get_history(
    account_id: AccountPath,
    book: LedgerDep,
    principal: Reader,
    limit: Limit = 100,
    cursor: SeqCursor = None,
) -> HistoryPage:
    """The account's history, newest first, each line with the balance after it."""
    policy.require_account(principal, account_id)
    before_seq = seq_cursor(cursor)
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
