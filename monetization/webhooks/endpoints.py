"""Webhook endpoints: registered, listed, read and deleted (soft: the log outlives them).

An endpoint starts at the journal's head when it is registered: it receives the events
recorded after that, never the history before. ``owner`` is the principal that registered
it; a read or delete names the owner it must belong to, or None for any (the access policy
in ``api/`` decides which).

The signing secret is kept sealed (:mod:`monetization.sealing`, bound to the endpoint's id)
and opened only to sign a delivery; one stored in plain text before sealing existed, or
sealed under a key that no longer seals first (a rotation), is sealed again when used.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Engine, and_, func, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from ledger import KIND_RE, InvalidRequest, InvalidText, Ledger
from monetization.ids import UUID_RE
from monetization.sealing import Sealer, SealError
from monetization.webhooks.errors import WebhookLimitReached, WebhookNotFound
from monetization.webhooks.model import (
    DESCRIPTION_MAX_CHARS,
    KINDS_MAX,
    PAGE_MAX,
    Endpoint,
    WebhooksConfig,
)
from monetization.webhooks.signing import SECRET_PREFIX, new_secret
from monetization.webhooks.store import begin_write, endpoint_from_row
from monetization.webhooks.tables import webhooks_endpoints as ep
from monetization.webhooks.targets import Resolver, TargetPolicy, check_url, resolve

KIND_MAX_CHARS = 64
OWNER_MAX_CHARS = 160
PATTERN_SUFFIX = ".*"


def check_text(value: str, what: str) -> str:
    """``value`` if every database stores it as given: no NUL, no lone surrogate."""
    if "\x00" in value:
        raise InvalidText(f"{what} contains a NUL character (U+0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidText(f"{what} is not valid Unicode text (a lone surrogate)") from None
    return value


def check_kind_pattern(pattern: object) -> str:
    """A kind (``reward.earned``) or a kind followed by ``.*`` (``reward.*``)."""
    if not isinstance(pattern, str) or len(pattern) > KIND_MAX_CHARS + len(PATTERN_SUFFIX):
        raise InvalidRequest("a kind pattern is a kind, or a kind followed by .*")
    base = pattern.removesuffix(PATTERN_SUFFIX)
    if len(base) > KIND_MAX_CHARS or not KIND_RE.fullmatch(base):
        raise InvalidRequest(f"kind pattern {pattern!r:.80} must be a kind or kind.*")
    return pattern


def check_kinds(kinds: Sequence[str] | None) -> tuple[str, ...]:
    """Kind patterns (``reward.earned``, ``reward.*``), deduplicated; empty: every kind."""
    if kinds is None:
        return ()
    if isinstance(kinds, str) or not isinstance(kinds, Sequence):
        raise InvalidRequest("kinds is a list of kind patterns")
    if len(kinds) > KINDS_MAX:
        raise InvalidRequest(f"at most {KINDS_MAX} kind patterns")
    return tuple(dict.fromkeys(check_kind_pattern(k) for k in kinds))


def check_description(text: object) -> str:
    if not isinstance(text, str) or len(text) > DESCRIPTION_MAX_CHARS:
        raise InvalidRequest(f"description is text of at most {DESCRIPTION_MAX_CHARS} characters")
    return check_text(text, "description")


class Endpoints:
    def __init__(
        self,
        engine: Engine,
        ledger: Ledger,
        config: WebhooksConfig,
        resolver: Callable[[], Resolver],
        clock: Callable[[], datetime],
        *,
        sealer: Callable[[], Sealer],
    ) -> None:
        self.engine, self.ledger, self.config = engine, ledger, config
        self.policy = TargetPolicy(strict=config.strict)
        self._resolver = resolver
        self.clock = clock
        self._sealer = sealer

    def create(
        self, owner: str, url: str, kinds: Sequence[str] | None = None, description: str = ""
    ) -> tuple[Endpoint, str]:
        """Register ``url``; returns the endpoint and its signing secret (shown once).

        Under the strict policy the host is resolved now and every address must be public
        (:class:`~monetization.webhooks.errors.WebhookUrlRefused`); deliveries check again.
        """
        if not isinstance(owner, str) or not 1 <= len(owner) <= OWNER_MAX_CHARS:
            raise InvalidRequest(f"an owner is a principal of 1-{OWNER_MAX_CHARS} characters")
        check_url(url, self.policy)
        if self.policy.strict:
            resolve(url, self.policy, self._resolver())
        patterns, text = check_kinds(kinds), check_description(description)
        now, secret = self.clock(), new_secret()
        head = self.ledger.head_seq()
        endpoint_id = str(uuid.uuid4())
        with begin_write(self.engine) as conn:
            count = conn.execute(
                select(func.count()).where(ep.c.owner == owner, ep.c.deleted_at.is_(None))
            ).scalar_one()
            if count >= self.config.endpoints_per_owner:
                raise WebhookLimitReached(
                    f"{owner} has {count} webhooks, the most allowed: delete one first"
                )
            conn.execute(
                insert(ep).values(
                    id=endpoint_id, owner=owner, url=url, kinds=json.dumps(list(patterns)),
                    description=text, secret=self._sealer().seal(secret, endpoint_id),
                    created_at=now, deleted_at=None,
                    scanned_seq=head, next_attempt_at=now, failures=0,
                )
            )  # fmt: skip
        return self.get(endpoint_id), secret

    def get(self, endpoint_id: str, owner: str | None = None) -> Endpoint:
        """The live endpoint (of ``owner`` when given); :class:`WebhookNotFound`."""
        if not isinstance(endpoint_id, str) or not UUID_RE.fullmatch(endpoint_id):
            raise WebhookNotFound("no such webhook")
        clauses: list[ColumnElement[bool]] = [ep.c.id == endpoint_id, ep.c.deleted_at.is_(None)]
        if owner is not None:
            clauses.append(ep.c.owner == owner)
        with self.engine.connect() as conn:
            row = conn.execute(select(ep).where(*clauses)).first()
        if row is None:
            raise WebhookNotFound(f"webhook {endpoint_id} does not exist")
        return endpoint_from_row(row)

    def secret(self, endpoint_id: str) -> str:
        """The signing secret in the clear, to sign with (never to show)."""
        with self.engine.connect() as conn:
            stored = conn.execute(select(ep.c.secret).where(ep.c.id == endpoint_id)).scalar()
        if stored is None:
            raise WebhookNotFound(f"webhook {endpoint_id} does not exist")
        sealer = self._sealer()
        if stored.startswith(SECRET_PREFIX):
            secret = str(stored)  # kept in plain text before secrets were sealed
        else:
            try:
                secret = sealer.open(stored, endpoint_id)
            except SealError:
                raise SealError(
                    f"webhook {endpoint_id}: its signing secret does not open with any key in "
                    "AZORA_SSO_ENCRYPTION_KEY (a removed key?); deliveries wait for it"
                ) from None
        if not sealer.is_current(stored):
            self._reseal(endpoint_id, stored, sealer.seal(secret, endpoint_id))
        return secret

    def _reseal(self, endpoint_id: str, stored: str, sealed: str) -> None:
        # Only if nobody sealed it again meanwhile: the row's value is the one just read.
        with begin_write(self.engine) as conn:
            same = and_(ep.c.id == endpoint_id, ep.c.secret == stored)
            conn.execute(update(ep).where(same).values(secret=sealed))

    def list(
        self, owner: str | None, limit: int = 100, after_id: str | None = None
    ) -> tuple[list[Endpoint], str | None]:
        """Live endpoints oldest first, a page of ``limit``; the cursor is the last id."""
        if type(limit) is not int or not 1 <= limit <= PAGE_MAX:
            raise InvalidRequest(f"limit must be within 1..{PAGE_MAX}")
        clauses: list[ColumnElement[bool]] = [ep.c.deleted_at.is_(None)]
        if owner is not None:
            clauses.append(ep.c.owner == owner)
        with self.engine.connect() as conn:
            if after_id is not None:
                start = conn.execute(
                    select(ep.c.created_at).where(ep.c.id == after_id, *clauses)
                ).scalar()
                if start is None:
                    raise InvalidRequest("cursor must be a next_cursor of this listing")
                clauses.append(
                    or_(ep.c.created_at > start, and_(ep.c.created_at == start, ep.c.id > after_id))
                )
            stmt = select(ep).where(*clauses).order_by(ep.c.created_at, ep.c.id)
            rows = conn.execute(stmt.limit(limit + 1)).all()
        found = [endpoint_from_row(r) for r in rows[:limit]]
        return found, (found[-1].id if len(rows) > limit else None)

    def delete(self, endpoint_id: str, owner: str | None = None) -> Endpoint:
        """Stop deliveries to the endpoint; its delivery log is kept."""
        endpoint = self.get(endpoint_id, owner)
        with begin_write(self.engine) as conn:
            deleted = conn.execute(
                update(ep)
                .where(ep.c.id == endpoint.id, ep.c.deleted_at.is_(None))
                .values(deleted_at=self.clock(), lease_token=None, lease_until=None)
            ).rowcount
        if deleted != 1:  # a racing delete won: answer as a later one would
            raise WebhookNotFound(f"webhook {endpoint_id} does not exist")
        return endpoint
