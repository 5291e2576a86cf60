"""White-label settings of an organization: ``…/branding``, ``…/domains`` (ownership by a
DNS TXT record) and ``…/sso`` (the client secret is write-only: `client_secret_set`).
Members read them; owners and admins change them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from api.deps import CurrentPrincipal
from api.ids import Limit
from api.policy import OrgAccess
from api.routers.orgs import LicensingDep, OrgPath, next_cursor, org_access
from api.schemas.common import PROTECTED, problems
from api.schemas.licensing import (
    BrandingIn,
    BrandingPublic,
    DomainCreate,
    DomainPage,
    DomainPublic,
    SsoIn,
    SsoPublic,
)
from monetization.licensing import SsoRequest

DOMAIN = r"^[a-z0-9.-]{3,253}$"
DomainPath = Annotated[str, Path(pattern=DOMAIN, max_length=253, examples=["learn.acme.com"])]
DomainCursor = Annotated[str | None, Query(pattern=DOMAIN, max_length=253)]

router = APIRouter(prefix="/v1", tags=["white-label"], responses=PROTECTED)


@router.get("/orgs/{org_id}/branding", responses=problems(404))
def get_branding(
    org_id: OrgPath, licensing: LicensingDep, principal: CurrentPrincipal
) -> BrandingPublic:
    """The branding (the organization's name and the platform's colours until set)."""
    org_access(licensing, principal, org_id, OrgAccess.MEMBER)
    return BrandingPublic.build(licensing.branding.get(org_id))


@router.put("/orgs/{org_id}/branding", responses=problems(403, 404))
def put_branding(
    org_id: OrgPath, body: BrandingIn, licensing: LicensingDep, principal: CurrentPrincipal
) -> BrandingPublic:
    """Set the display name, an https logo URL, `#RRGGBB` colours, a support e-mail."""
    org_access(licensing, principal, org_id, OrgAccess.ADMIN)
    return BrandingPublic.build(licensing.branding.put(org_id, body.to_domain()))


@router.post(
    "/orgs/{org_id}/domains",
    status_code=201,
    response_model=DomainPublic,
    responses={200: {"model": DomainPublic, "description": "Added before"},
               **problems(403, 404, 409)},
)  # fmt: skip
def add_domain(
    org_id: OrgPath, body: DomainCreate, licensing: LicensingDep, principal: CurrentPrincipal
) -> JSONResponse:
    """Add a custom domain: pending until `…/verify` finds the TXT record `txt_name` with
    the value `txt_value`. 409 `domain-taken` if another organization verified it."""
    org_access(licensing, principal, org_id, OrgAccess.ADMIN)
    domain, created = licensing.domains.add(org_id, body.domain)
    payload = DomainPublic.build(domain).model_dump(mode="json")
    return JSONResponse(payload, status_code=201 if created else 200)


@router.get("/orgs/{org_id}/domains", responses=problems(404))
def list_domains(
    org_id: OrgPath,
    licensing: LicensingDep,
    principal: CurrentPrincipal,
    limit: Limit = 100,
    cursor: DomainCursor = None,
) -> DomainPage:
    org_access(licensing, principal, org_id, OrgAccess.MEMBER)
    found = licensing.domains.of_org(org_id, after=cursor, limit=limit)
    return DomainPage(
        data=[DomainPublic.build(d) for d in found],
        next_cursor=next_cursor([d.domain for d in found], limit),
    )


@router.post("/orgs/{org_id}/domains/{domain}/verify", responses=problems(403, 404, 409))
def verify_domain(
    org_id: OrgPath, domain: DomainPath, licensing: LicensingDep, principal: CurrentPrincipal
) -> DomainPublic:
    """Look the TXT record up: `verified`, or 409 `domain-not-verified` (still pending),
    503 `dns-unavailable` when DNS does not answer."""
    org_access(licensing, principal, org_id, OrgAccess.ADMIN)
    return DomainPublic.build(licensing.domains.verify(org_id, domain))


@router.get("/orgs/{org_id}/sso", responses=problems(404))
def get_sso(org_id: OrgPath, licensing: LicensingDep, principal: CurrentPrincipal) -> SsoPublic:
    """The SSO settings; the client secret is never returned (`client_secret_set`)."""
    org_access(licensing, principal, org_id, OrgAccess.MEMBER)
    return SsoPublic.build(licensing.sso.get(org_id))


@router.put("/orgs/{org_id}/sso", responses=problems(403, 404))
def put_sso(
    org_id: OrgPath, body: SsoIn, licensing: LicensingDep, principal: CurrentPrincipal
) -> SsoPublic:
    """`oidc` (https issuer, client_id, client_secret: sealed at rest; left out, the stored
    one is kept) or `saml` (an https metadata_url)."""
    org_access(licensing, principal, org_id, OrgAccess.ADMIN)
    secret = None if body.client_secret is None else body.client_secret.get_secret_value()
    request = SsoRequest(body.protocol, body.issuer, body.client_id, secret, body.metadata_url)
    return SsoPublic.build(licensing.sso.put(org_id, request))
