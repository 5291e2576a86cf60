"""Licenses: issued for an organization by the platform, listed by its members (the key
itself shown to owners and admins), revoked; the signing keys published and keys
validated without credentials (DESIGN §13)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse

from api.deps import Admin, CurrentPrincipal
from api.ids import IDEMPOTENCY_KEY, REPLAYED_HEADER, UUID, Limit
from api.policy import OrgAccess
from api.routers.orgs import LicensingDep, OrgPath, next_cursor, org_access
from api.schemas.common import PROTECTED, problems
from api.schemas.licensing import (
    KeyList,
    KeyPublic,
    LicenseCreate,
    LicensePage,
    LicensePublic,
    ValidateIn,
    Validation,
)

LicensePath = Annotated[str, Path(pattern=UUID, max_length=36)]
LicenseCursor = Annotated[str | None, Query(pattern=UUID, max_length=36)]
OptionalKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY, max_length=128,
           description="Optional: a retry with the same key answers the first license"),
]  # fmt: skip

public = APIRouter(prefix="/v1", tags=["licenses"])
router = APIRouter(prefix="/v1", tags=["licenses"], responses=PROTECTED)


@public.get("/licenses/keys")
def signing_keys(licensing: LicensingDep) -> KeyList:
    """The Ed25519 public keys that sign license keys (public): the active one and every
    retired one still verifying keys it signed. Save it for `azora license verify --keys`."""
    keys = licensing.signing.published(licensing.clock())
    return KeyList(keys=[KeyPublic.build(k) for k in keys])


@public.post("/licenses/validate", responses=problems(400, 413, 422))
def validate(body: ValidateIn, licensing: LicensingDep) -> Validation:
    """Check a key (public): `valid`, or the `reason` (`malformed`, `bad-signature`,
    `unknown-key`, `expired`, `revoked`); the claims once the signature verified."""
    return Validation.build(licensing.licenses.validate(body.key))


@router.post(
    "/orgs/{org_id}/licenses",
    status_code=201,
    response_model=LicensePublic,
    responses=problems(403, 404, 409),
)
def issue_license(
    org_id: OrgPath,
    body: LicenseCreate,
    licensing: LicensingDep,
    principal: CurrentPrincipal,
    key: OptionalKey = None,
) -> JSONResponse:
    """Issue a license (the platform only): a signed `azl1` key with the tier, seats,
    limits and expiry. Priced licenses are charged monthly by `azora billing run`."""
    org_access(licensing, principal, org_id, OrgAccess.PLATFORM)
    made, created = licensing.licenses.issue(
        org_id, body.to_domain(), principal=principal.name, key=key
    )
    payload = LicensePublic.build(made, licensing.clock(), with_key=True).model_dump(mode="json")
    headers = None if created else {REPLAYED_HEADER: "true"}
    return JSONResponse(payload, status_code=201, headers=headers)


@router.get("/orgs/{org_id}/licenses", responses=problems(404))
def list_licenses(
    org_id: OrgPath,
    licensing: LicensingDep,
    principal: CurrentPrincipal,
    limit: Limit = 100,
    cursor: LicenseCursor = None,
) -> LicensePage:
    access = org_access(licensing, principal, org_id, OrgAccess.MEMBER)
    found = licensing.licenses.of_org(org_id, after=cursor, limit=limit)
    now = licensing.clock()
    with_key = access >= OrgAccess.ADMIN
    return LicensePage(
        data=[LicensePublic.build(lic, now, with_key=with_key) for lic in found],
        next_cursor=next_cursor([lic.id for lic in found], limit),
    )


@router.post("/licenses/{license_id}/revoke", responses=problems(403, 404))
def revoke_license(license_id: LicensePath, licensing: LicensingDep, _p: Admin) -> LicensePublic:
    """Revoke (platform admins): validation answers `revoked` from now on and the monthly
    charges stop. A repeat answers the current state."""
    revoked = licensing.licenses.revoke(license_id)
    return LicensePublic.build(revoked, licensing.clock(), with_key=True)


__all__ = ["public", "router"]
