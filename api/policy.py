"""The one access policy: who may read or change what. Routers ask it; nothing else decides.

Two kinds of callers (:class:`api.security.Principal`): service API keys with scopes, and
user tokens, each for one user. The rules:

* an **account** is readable by a key with ``ledger:read`` (or ``admin``), and by a user
  token when it is one of that user's own (``user:{id}:...``);
* an **entry** (and its proof) is readable by whoever may read one of its accounts;
* a **user's resources** (``/v1/users/{id}/...``) are read by that user and by keys with a
  read scope; changed by that user and by admin keys;
* a **leaderboard** is readable by keys; by a user token for ``global``, its own
  ``friends:{id}`` and the classes it belongs to;
* an **account** opened through the API never goes negative unless it is a world, platform
  or system account, and one the domains open themselves (``user:{id}:azr``) has their shape;
* a **hold** posted by a domain (a redemption's hold) is resolved only through that domain,
  never by ``POST /v1/entries/{id}/post|void``;
* an **organization** (``/v1/orgs/{id}/...``, :func:`require_org`) is read by its members,
  managed by its owners and admins, and only an owner changes or removes an owner; its
  members open support tickets and comment on them; the platform (admin keys) does
  everything, and alone issues and revokes licenses and assigns tickets. Anyone else, and
  any other key, gets 404; a member asking for more than their role gets 403.

A refusal is a 404 worded like a missing resource, so a caller learns nothing about what
lies beyond its reach; a key lacking a scope gets 403 from the scope check in
:mod:`api.deps` before any of this runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from enum import IntEnum

from api.errors import ApiProblem
from api.security import Principal, PrincipalKind, Scope
from ledger import Entry

# Only these accounts may go negative (DESIGN §5): the outside world and the platform's own.
NEGATIVE_PREFIXES = ("world:", "platform:", "system:")
# Accounts the domains open on first use, with the asset they use them for: one opened
# through POST /v1/accounts must have that shape, or it would wedge the domain.
DOMAIN_ACCOUNTS = ((re.compile(r"user:[^:]+:azr"), "AZR"), (re.compile(r"instructor:.+"), "USD"))

# Principals of the HTTP layer (``key:<id>``, ``user:<id>``); every other principal that
# writes to the ledger is a domain acting on its own behalf (``rewards:redemptions``, ...).
API_PRINCIPAL_PREFIXES = tuple(f"{kind.value}:" for kind in PrincipalKind)


def hidden(what: str | None = None) -> ApiProblem:
    return ApiProblem("not-found", f"{what} does not exist" if what else "no such resource")


# --- accounts and entries ----------------------------------------------------------------


def can_read_account(principal: Principal, account_id: str) -> bool:
    if principal.is_user:
        return account_id.startswith(f"user:{principal.id}:")
    return principal.has(Scope.LEDGER_READ)


def require_account(principal: Principal, account_id: str) -> None:
    if not can_read_account(principal, account_id):
        raise hidden(f"account {account_id!r}")


def _accounts(entry: Entry) -> Iterable[str]:
    for posting in entry.postings:
        yield posting.source
        yield posting.destination


def can_read_entry(principal: Principal, entry: Entry) -> bool:
    return any(can_read_account(principal, account) for account in _accounts(entry))


def require_entry(principal: Principal, entry: Entry) -> None:
    if not can_read_entry(principal, entry):
        raise hidden(f"entry {entry.id!r}")


def require_openable_account(account_id: str, asset: str, allow_negative: bool) -> None:
    """What POST /v1/accounts may open: no user going negative, no domain account of
    another shape than the domain's own."""
    if allow_negative and not account_id.startswith(NEGATIVE_PREFIXES):
        raise ApiProblem(
            "invalid-account",
            f"only world:, platform: and system: accounts may go negative, not {account_id!r}",
        )
    for pattern, wanted in DOMAIN_ACCOUNTS:
        if pattern.fullmatch(account_id) and asset != wanted:
            raise ApiProblem(
                "invalid-account", f"{account_id!r} is an account of asset {wanted}, not {asset}"
            )


def require_resolvable_hold(hold: Entry) -> None:
    """Holds a domain posted are resolved by that domain (its workflow owns the state)."""
    owner = hold.principal or ""
    if owner and not owner.startswith(API_PRINCIPAL_PREFIXES):
        raise ApiProblem(
            "hold-owned-by-domain",
            f"hold {hold.id} belongs to {owner}: resolve it through that resource "
            "(e.g. cancel the redemption), not through /v1/entries",
        )


# --- users -------------------------------------------------------------------------------


def can_read_user(principal: Principal, user_id: str) -> bool:
    if principal.is_user:
        return principal.id == user_id
    return principal.has(Scope.LEDGER_READ)


def can_act_for_user(principal: Principal, user_id: str) -> bool:
    if principal.is_user:
        return principal.id == user_id
    return Scope.ADMIN in principal.scopes


def require_user_read(principal: Principal, user_id: str) -> None:
    if not can_read_user(principal, user_id):
        raise hidden()


def require_user_act(principal: Principal, user_id: str) -> None:
    if not can_act_for_user(principal, user_id):
        raise hidden()


# --- leaderboards ------------------------------------------------------------------------


def can_read_board(
    principal: Principal, kind: str, scope_id: str | None, classes_of: Callable[[str], set[str]]
) -> bool:
    """``kind`` is global | class | friends; ``classes_of`` is asked only when needed."""
    if not principal.is_user or kind == "global":
        return True
    if kind == "friends":
        return scope_id == principal.id
    return kind == "class" and scope_id in classes_of(principal.id)


# --- marketplace (DESIGN §12) --------------------------------------------------------------
#
# * a course is created by its instructor (their user token) or by an admin key naming
#   ``instructor_id``; edited, published, unpublished and given materials by its owner or
#   an admin; a draft or unpublished course is seen only by them and by ledger:read keys;
# * a purchase is made by the buyer's user token, or an admin key naming ``buyer_id``; read
#   by its buyer, its instructor and ledger:read keys; refunded by its buyer or an admin, and
#   past the refund window by an admin only;
# * materials are read by buyers with access, the owner and admins;
# * earnings and payouts are read by the instructor and ledger:read keys; payouts requested
#   by the instructor or an admin, completed or failed by an admin only;
# * reviews are written by buyers (the domain checks the purchase: 403 ``not-a-buyer``), or an
#   admin key naming ``author_id``; edited by their author or an admin; replied to by the
#   course's instructor or an admin.


def _owner_or_admin(principal: Principal, owner_id: str) -> bool:
    if principal.is_user:
        return principal.id == owner_id
    return Scope.ADMIN in principal.scopes


def acting_user(principal: Principal, named: str | None, what: str) -> str:
    """Whom a user-made resource is for: a user token for itself (``named`` may repeat
    its own id); an admin key must name the user; any other key sees nothing here."""
    if principal.is_user:
        if named is not None and named != principal.id:
            raise hidden()
        return principal.id
    if Scope.ADMIN not in principal.scopes:
        raise hidden()
    if named is None:
        raise ApiProblem("invalid-request", f"an admin key must name {what}")
    return named


def can_see_course(principal: Principal | None, instructor_id: str, published: bool) -> bool:
    if published:
        return True
    if principal is None:
        return False
    if principal.is_user:
        return principal.id == instructor_id
    return principal.has(Scope.LEDGER_READ)


def require_course_visible(
    principal: Principal | None, instructor_id: str, published: bool
) -> None:
    if not can_see_course(principal, instructor_id, published):
        raise hidden("the course")


def require_course_owner(principal: Principal, instructor_id: str) -> None:
    """Edits, publishing and uploads: the owner or an admin (others: as if missing)."""
    if not _owner_or_admin(principal, instructor_id):
        raise hidden("the course")


def require_purchase_read(principal: Principal, buyer_id: str, instructor_id: str) -> None:
    if principal.is_user:
        if principal.id not in (buyer_id, instructor_id):
            raise hidden("the purchase")
    elif not principal.has(Scope.LEDGER_READ):
        raise hidden("the purchase")


def require_refunder(principal: Principal, buyer_id: str, *, after_window: bool) -> None:
    """The buyer or an admin; past the window (``after_window``) an admin only."""
    if not _owner_or_admin(principal, buyer_id):
        raise hidden("the purchase")
    if after_window and principal.is_user:
        raise ApiProblem("forbidden", "only an admin refunds after the refund window")


def require_material_reader(
    principal: Principal, instructor_id: str, has_access: Callable[[str], bool]
) -> None:
    """Buyers with access and the owner (``has_access`` is asked for user tokens); admins."""
    if principal.is_user:
        if not has_access(principal.id):
            raise hidden("the material")
    elif Scope.ADMIN not in principal.scopes:
        raise hidden("the material")


def access_subject(principal: Principal, user_id: str | None, instructor_id: str) -> str:
    """Whose access ``GET /v1/courses/{id}/access`` tells: a user asks for itself (the
    course's instructor may ask for anyone); keys with ledger:read for anyone they name."""
    if principal.is_user:
        if user_id is None or user_id == principal.id:
            return principal.id
        if principal.id == instructor_id:
            return user_id
        raise hidden()
    if not principal.has(Scope.LEDGER_READ):
        raise hidden()
    if user_id is None:
        raise ApiProblem("invalid-request", "name the user: ?user_id=")
    return user_id


def require_instructor_read(principal: Principal, user_id: str) -> None:
    """Earnings, payouts, the instructor's own course list (drafts included)."""
    require_user_read(principal, user_id)


def require_instructor_act(principal: Principal, user_id: str) -> None:
    require_user_act(principal, user_id)


def require_review_author(principal: Principal, author_id: str) -> None:
    if not _owner_or_admin(principal, author_id):
        raise hidden("the review")


def require_course_reply(principal: Principal, instructor_id: str) -> None:
    if not _owner_or_admin(principal, instructor_id):
        raise hidden("the review")


# --- organizations (enterprise licensing) ------------------------------------------------


class OrgAccess(IntEnum):
    """What a principal may do in one organization, each level including those below."""

    NONE = 0
    MEMBER = 1  # read everything; open tickets and comment on them
    ADMIN = 2  # manage members (not owners), usage, white-label settings, tickets
    OWNER = 3  # also owners
    PLATFORM = 4  # admin keys: also licenses and ticket assignment

    @classmethod
    def of_role(cls, role: str | None) -> OrgAccess:
        return {"member": cls.MEMBER, "admin": cls.ADMIN, "owner": cls.OWNER}.get(
            role or "", cls.NONE
        )


def org_access(principal: Principal, role_of: Callable[[str], str | None]) -> OrgAccess:
    """``role_of(user_id)`` is the user's role in the organization (None: not a member);
    it is asked only for user tokens."""
    if principal.is_user:
        return OrgAccess.of_role(role_of(principal.id))
    return OrgAccess.PLATFORM if Scope.ADMIN in principal.scopes else OrgAccess.NONE


def require_org(
    principal: Principal, role_of: Callable[[str], str | None], needed: OrgAccess
) -> OrgAccess:
    """The principal's access, at least ``needed``: 404 for a stranger, 403 for a member
    whose role is too low."""
    access = org_access(principal, role_of)
    if access is OrgAccess.NONE:
        raise hidden("organization")
    if access < needed:
        raise ApiProblem(
            "org-role-required", f"this needs the {needed.name.lower()} role in the organization"
        )
    return access


def require_member_change(access: OrgAccess, *roles: str | None) -> None:
    """Admins manage admins and members; an owner's role (given or taken) needs an owner."""
    if "owner" in roles and access < OrgAccess.OWNER:
        raise ApiProblem("org-role-required", "only an owner adds, changes or removes an owner")


# --- the change stream and webhooks (DESIGN §15) -----------------------------------------
#
# * events are read by keys with ``events:read`` and by admin keys (the scope check in
#   :mod:`api.deps`); user tokens never (404);
# * webhooks are registered, listed, read, deleted and their delivery logs read by the same
#   keys; such a key sees only the webhooks it registered (others: 404), an admin key every
#   one;
# * a delivery is replayed by an admin key only.


def webhook_owner(principal: Principal) -> str | None:
    """Whose webhooks ``principal`` reaches: its own, or (admins) everyone's (None)."""
    if principal.is_user:
        raise hidden()
    return None if Scope.ADMIN in principal.scopes else principal.name
