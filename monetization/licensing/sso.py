"""Single sign-on settings: OIDC (https issuer, client id, client secret) or SAML (an
https metadata URL). The client secret is sealed at rest (:mod:`monetization.sealing`) and never
returned: readers see ``client_secret_set``. Saving OIDC settings without a secret keeps
the one stored; the first OIDC settings need one. Nothing here logs a secret.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select, update

from ledger import InvalidRequest, NotFound
from monetization.licensing.checks import check_https_url, check_text
from monetization.licensing.store import begin_write, lock_org, require_org
from monetization.licensing.tables import licensing_sso as S
from monetization.sealing import Sealer

CLIENT_ID_MAX_CHARS = 255
CLIENT_SECRET_MAX_CHARS = 1024
OIDC, SAML = "oidc", "saml"


@dataclass(frozen=True, slots=True)
class SsoRequest:
    protocol: str
    issuer: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    metadata_url: str | None = None


@dataclass(frozen=True, slots=True)
class SsoSettings:
    protocol: str
    issuer: str | None
    client_id: str | None
    client_secret_set: bool
    metadata_url: str | None
    updated_at: datetime


def _checked(request: SsoRequest) -> SsoRequest:
    if request.protocol == SAML:
        if request.issuer or request.client_id or request.client_secret:
            raise InvalidRequest("saml settings take metadata_url only")
        if request.metadata_url is None:
            raise InvalidRequest("saml settings need metadata_url")
        return SsoRequest(SAML, metadata_url=check_https_url(request.metadata_url, "metadata_url"))
    if request.protocol != OIDC:
        raise InvalidRequest("protocol must be oidc or saml")
    if request.metadata_url is not None:
        raise InvalidRequest("oidc settings take issuer, client_id and client_secret")
    if request.issuer is None or request.client_id is None:
        raise InvalidRequest("oidc settings need issuer and client_id")
    secret = request.client_secret
    if secret is not None:
        check_text(secret, "client_secret", CLIENT_SECRET_MAX_CHARS)
    return SsoRequest(
        OIDC, check_https_url(request.issuer, "issuer"),
        check_text(request.client_id, "client_id", CLIENT_ID_MAX_CHARS), secret,
    )  # fmt: skip


class SingleSignOn:
    def __init__(
        self, engine: Engine, sealer: Callable[[], Sealer], clock: Callable[[], datetime]
    ) -> None:
        self.engine = engine
        self._sealer = sealer
        self.clock = clock

    def get(self, org_id: str) -> SsoSettings:
        with self.engine.connect() as conn:
            require_org(conn, org_id)
            row = conn.execute(select(S).where(S.c.org_id == org_id)).first()
        if row is None:
            raise NotFound(f"organization {org_id!r} has no single sign-on settings")
        return SsoSettings(row.protocol, row.issuer, row.client_id,
                           row.client_secret_sealed is not None, row.metadata_url,
                           row.updated_at)  # fmt: skip

    def put(self, org_id: str, request: SsoRequest) -> SsoSettings:
        checked = _checked(request)
        sealed = None
        if checked.client_secret is not None:
            sealed = self._sealer().seal(checked.client_secret, f"sso:{org_id}")
        with begin_write(self.engine) as conn:
            lock_org(conn, org_id)
            row = conn.execute(select(S.c.client_secret_sealed).where(S.c.org_id == org_id)).first()
            if checked.protocol == OIDC and sealed is None:
                if row is None or row.client_secret_sealed is None:
                    raise InvalidRequest("the first oidc settings need client_secret")
                sealed = row.client_secret_sealed  # kept as it was
            values = {
                "protocol": checked.protocol, "issuer": checked.issuer,
                "client_id": checked.client_id, "client_secret_sealed": sealed,
                "metadata_url": checked.metadata_url, "updated_at": self.clock(),
            }  # fmt: skip
            if row is None:
                conn.execute(S.insert().values(org_id=org_id, **values))
            else:
                conn.execute(update(S).where(S.c.org_id == org_id).values(**values))
        return self.get(org_id)

    def client_secret(self, org_id: str) -> str | None:
        """The plaintext secret, for the sign-in flow itself (never for an API answer)."""
        with self.engine.connect() as conn:
            sealed = conn.execute(
                select(S.c.client_secret_sealed).where(S.c.org_id == org_id)
            ).scalar()
        return None if sealed is None else self._sealer().open(sealed, f"sso:{org_id}")
