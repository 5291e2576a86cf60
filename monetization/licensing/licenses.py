"""Licenses: issued (signed ``azl1`` keys), listed, revoked and validated.

An organization's *active* license is its latest one that is neither revoked nor expired;
its seats and limits are what the organization may use. Issuing takes an optional
idempotency key (per principal): the same request again answers the first license, another
request with that key is an :class:`~ledger.IdempotencyConflict`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from ledger import IdempotencyConflict, validate_idempotency_key
from monetization.licensing.checks import check_instant, check_org_id
from monetization.licensing.errors import InvalidLicense, LicenseNotFound
from monetization.licensing.keyformat import (
    LIMIT_MAX,
    LIMIT_NAMES,
    SEATS_MAX,
    UNIX_MAX_S,
    Claims,
    Limits,
    Reason,
    Verdict,
    sign,
    verify,
)
from monetization.licensing.model import (
    TIER_PRICES,
    BillingStatus,
    License,
    LicenseRequest,
    Tier,
)
from monetization.licensing.signing import SigningKeys
from monetization.licensing.store import begin_write, page_limit, require_org
from monetization.licensing.tables import licensing_licenses as L
from monetization.payments.port import check_payment_method

PRICE_MAX_CENTS = 10**12  # ten billion dollars a month: a bound, not a business rule
# Keys whose signature verified, by their text: a kid's public key never changes, so the
# verdict on the signature holds for good (revocation and expiry are checked every time).
VERIFIED_MEMO_MAX = 10_000


def license_from_row(row: Any) -> License:
    return License(
        id=row.id, org_id=row.org_id, tier=Tier(row.tier), seats=int(row.seats),
        limits=Limits(row.api_calls_per_month, row.storage_bytes, row.active_users),
        price_cents=int(row.price_cents), payment_method=row.payment_method, kid=row.kid,
        key=row.license_key, issued_at=row.issued_at, expires_at=row.expires_at,
        revoked_at=row.revoked_at, periods_charged=int(row.periods_charged),
        next_charge_at=row.next_charge_at, retry_at=row.retry_at,
        failed_attempts=int(row.failed_attempts),
        billing_status=BillingStatus(row.billing_status), version=int(row.version),
    )  # fmt: skip


def price_of(request: LicenseRequest) -> int:
    """The monthly price in cents under the tier's rules (raises InvalidLicense)."""
    fixed, minimum = TIER_PRICES[request.tier]
    price = request.price_cents if request.price_cents is not None else (fixed or minimum)
    if price is None:
        raise InvalidLicense(f"a {request.tier.value} license is priced per contract: send price")
    if fixed is not None and price != fixed:
        raise InvalidLicense(f"a {request.tier.value} license costs {fixed / 100:.2f} USD/month")
    if minimum is not None and price < minimum:
        raise InvalidLicense(
            f"a {request.tier.value} license costs at least {minimum / 100:.2f} USD/month"
        )
    if not 0 <= price <= PRICE_MAX_CENTS:
        raise InvalidLicense("price is out of range")
    return price


def check_request(request: LicenseRequest, now: datetime) -> tuple[int, datetime]:
    """(price in cents, expiry in UTC) of a valid request; raises InvalidLicense."""
    if type(request.seats) is not int or not 1 <= request.seats <= SEATS_MAX:
        raise InvalidLicense(f"seats must be 1-{SEATS_MAX}")
    for name in LIMIT_NAMES:
        value = getattr(request.limits, name)
        if value is not None and (type(value) is not int or not 0 <= value <= LIMIT_MAX):
            raise InvalidLicense(f"limits.{name} must be a whole number 0-{LIMIT_MAX} or null")
    expires_at = check_instant(request.expires_at, "expires_at")
    if not now.timestamp() + 60 <= expires_at.timestamp() <= UNIX_MAX_S:
        raise InvalidLicense("expires_at must be at least a minute ahead, by 9999-12-31")
    price = price_of(request)
    if price > 0:
        if request.payment_method is None:
            raise InvalidLicense("a priced license needs the payment_method to charge monthly")
        check_payment_method(request.payment_method)
    return price, expires_at


def fingerprint(org_id: str, request: LicenseRequest) -> str:
    body = {
        "org": org_id, "tier": request.tier.value, "seats": request.seats,
        "limits": request.limits.as_json(), "price": request.price_cents,
        "expires_at": check_instant(request.expires_at, "expires_at").isoformat(),
        "payment_method": request.payment_method,
    }  # fmt: skip
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class Licenses:
    def __init__(self, engine: Engine, signing: SigningKeys, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.signing = signing
        self.clock = clock
        self._verified: OrderedDict[str, Claims] = OrderedDict()
        self._memo_lock = threading.Lock()

    def issue(
        self, org_id: str, request: LicenseRequest, *, principal: str, key: str | None = None
    ) -> tuple[License, bool]:
        """A new signed license (and True), or the one issued for ``key`` before (False)."""
        check_org_id(org_id)
        now = self.clock()
        price, expires_at = check_request(request, now)
        digest = fingerprint(org_id, request)
        if key is not None:
            validate_idempotency_key(key)
            earlier = self._by_key(principal, key, digest)
            if earlier is not None:
                return earlier, False
        try:
            with begin_write(self.engine) as conn:
                made = self._insert(
                    conn, org_id, request, price=price, expires_at=expires_at, now=now,
                    idempotency=(principal, key, digest),
                )  # fmt: skip
        except IntegrityError:
            if key is None:
                raise
            earlier = self._by_key(principal, key, digest)  # a concurrent twin won
            if earlier is None:
                raise
            return earlier, False
        return made, True

    def _by_key(self, principal: str, key: str, digest: str) -> License | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(L).where(and_(L.c.principal == principal, L.c.idempotency_key == key))
            ).first()
        if row is None:
            return None
        if row.fingerprint != digest:
            raise IdempotencyConflict("this Idempotency-Key was used for another license")
        return license_from_row(row)

    def _insert(
        self,
        conn: Connection,
        org_id: str,
        request: LicenseRequest,
        *,
        price: int,
        expires_at: datetime,
        now: datetime,
        idempotency: tuple[str, str | None, str],
    ) -> License:
        require_org(conn, org_id)
        signer = self.signing.active(conn)
        lid = str(uuid.uuid4())
        claims = Claims(
            lid, org_id, request.tier.value, request.seats, request.limits,
            int(now.timestamp()), int(expires_at.timestamp()), signer.kid,
        )  # fmt: skip
        token = sign(claims, signer.private_key)
        principal, key, digest = idempotency
        values = {
            "id": lid, "org_id": org_id, "tier": request.tier.value, "seats": request.seats,
            **request.limits.as_json(), "price_cents": price,
            "payment_method": request.payment_method if price > 0 else None,
            "kid": signer.kid, "license_key": token, "issued_at": now, "expires_at": expires_at,
            "revoked_at": None, "periods_charged": 0,
            "next_charge_at": now if price > 0 else None, "retry_at": None,
            "failed_attempts": 0,
            "billing_status": (BillingStatus.CURRENT if price > 0 else BillingStatus.NONE).value,
            "version": 1, "principal": principal if key else None, "idempotency_key": key,
            "fingerprint": digest if key else None,
        }  # fmt: skip
        conn.execute(insert(L).values(**values))
        self.signing.extend(conn, signer.kid, expires_at)
        row = conn.execute(select(L).where(L.c.id == lid)).one()
        return license_from_row(row)

    def get(self, license_id: str) -> License:
        with self.engine.connect() as conn:
            row = conn.execute(select(L).where(L.c.id == license_id)).first()
        if row is None:
            raise LicenseNotFound(f"license {license_id!r} does not exist")
        return license_from_row(row)

    def of_org(self, org_id: str, *, after: str | None = None, limit: int = 100) -> list[License]:
        """The organization's licenses, oldest first (keyset on issue time and id)."""
        stmt = select(L).where(L.c.org_id == org_id)
        if after is not None:
            mark = select(L.c.issued_at, L.c.id).where(L.c.id == after).subquery()
            stmt = stmt.where(tuple_(L.c.issued_at, L.c.id) > select(mark).scalar_subquery())
        stmt = stmt.order_by(L.c.issued_at, L.c.id).limit(page_limit(limit))
        with self.engine.connect() as conn:
            return [license_from_row(r) for r in conn.execute(stmt)]

    def active(self, conn: Connection, org_id: str, now: datetime) -> License | None:
        """The organization's latest license that is neither revoked nor expired."""
        row = conn.execute(
            select(L)
            .where(and_(L.c.org_id == org_id, L.c.revoked_at.is_(None), L.c.expires_at > now))
            .order_by(L.c.issued_at.desc(), L.c.id.desc())
            .limit(1)
        ).first()
        return None if row is None else license_from_row(row)

    def revoke(self, license_id: str) -> License:
        """Revoke (once; a repeat answers the current state). Charging stops with it."""
        now = self.clock()
        with begin_write(self.engine) as conn:
            conn.execute(
                update(L)
                .where(and_(L.c.id == license_id, L.c.revoked_at.is_(None)))
                .values(
                    revoked_at=now, next_charge_at=None, retry_at=None, version=L.c.version + 1,
                    billing_status=BillingStatus.ENDED.value,
                )
            )  # fmt: skip
        return self.get(license_id)

    def validate(self, key: object) -> Verdict:
        """The online verdict: every key this service had, revocation, the clock."""
        now_s = int(self.clock().astimezone(UTC).timestamp())
        claims = self._memo(key)
        if claims is not None:
            if self._revoked(claims.lid):
                return Verdict(Reason.REVOKED, claims)
            return Verdict(Reason.EXPIRED if now_s >= claims.exp else None, claims)

        def public_key(kid: str) -> Any:
            return self.signing.verifying(kid).get(kid)

        verdict = verify(key, public_key, now_s, self._revoked)
        if verdict.claims is not None and isinstance(key, str):
            self._remember(key, verdict.claims)
        return verdict

    def _memo(self, key: object) -> Claims | None:
        if not isinstance(key, str):
            return None
        with self._memo_lock:
            claims = self._verified.get(key)
            if claims is not None:
                self._verified.move_to_end(key)
            return claims

    def _remember(self, key: str, claims: Claims) -> None:
        with self._memo_lock:
            self._verified[key] = claims
            while len(self._verified) > VERIFIED_MEMO_MAX:
                self._verified.popitem(last=False)

    def _revoked(self, license_id: str) -> bool:
        with self.engine.connect() as conn:
            revoked = conn.execute(select(L.c.revoked_at).where(L.c.id == license_id)).first()
        return revoked is not None and revoked[0] is not None
