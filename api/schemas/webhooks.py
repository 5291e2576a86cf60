"""Webhook endpoints and their delivery log (DESIGN §15)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from api.schemas.common import Input
from monetization.webhooks import Attempt, Delivery, Endpoint

URL_MAX_CHARS = 2048
KIND_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?$"

KindPattern = Annotated[
    StrictStr, Field(pattern=KIND_PATTERN, max_length=66, examples=["reward.*"])
]


class WebhookCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"url": "https://hooks.example.com/azora", "kinds": ["reward.*"]}]
        }
    )

    url: Annotated[
        StrictStr,
        Field(
            max_length=URL_MAX_CHARS,
            description="Where deliveries are POSTed. In production: https, and the host must "
            "resolve to public addresses only.",
        ),
    ]
    kinds: Annotated[list[KindPattern], Field(max_length=64)] = Field(
        default_factory=list,
        description="Kinds to deliver (`reward.earned`, or `reward.*` for a prefix); "
        "empty: every kind.",
    )
    description: Annotated[StrictStr, Field(max_length=200)] = ""


class WebhookPublic(BaseModel):
    id: str
    url: str
    kinds: list[str]
    description: str
    created_at: datetime
    scanned_seq: int = Field(
        description="Deliveries are made for the events up to this seq so far (at creation: "
        "the journal head; the endpoint receives the events after it)."
    )
    failures: int = Field(description="Failed attempts in a row (0 once one succeeds).")
    next_attempt_at: datetime

    @classmethod
    def build(cls, endpoint: Endpoint) -> WebhookPublic:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            kinds=list(endpoint.kinds),
            description=endpoint.description,
            created_at=endpoint.created_at,
            scanned_seq=endpoint.scanned_seq,
            failures=endpoint.failures,
            next_attempt_at=endpoint.next_attempt_at,
        )


class WebhookCreated(WebhookPublic):
    secret: str = Field(
        description="Signs every delivery (`Azora-Signature`): shown once, store it now."
    )


class WebhookPage(BaseModel):
    data: list[WebhookPublic]
    next_cursor: str | None


class AttemptPublic(BaseModel):
    number: int
    at: datetime
    status_code: int | None = Field(description="The receiver's HTTP status, if it answered.")
    error: str | None = Field(description="Why no answer came (connection refused, ...).")
    duration_ms: int

    @classmethod
    def build(cls, attempt: Attempt) -> AttemptPublic:
        return cls(
            number=attempt.number,
            at=attempt.at,
            status_code=attempt.status_code,
            error=attempt.error,
            duration_ms=attempt.duration_ms,
        )


class DeliveryPublic(BaseModel):
    id: str
    webhook_id: str
    seq: int
    entry_id: str
    type: str
    kind: str
    status: str = Field(description="pending, delivered or failed (given up)")
    attempts: int
    created_at: datetime
    retry_until: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None

    @classmethod
    def fields_of(cls, d: Delivery) -> dict[str, object]:
        return {
            "id": d.id, "webhook_id": d.endpoint_id, "seq": d.seq, "entry_id": d.entry_id,
            "type": d.type, "kind": d.kind, "status": d.status.value, "attempts": d.attempts,
            "created_at": d.created_at, "retry_until": d.retry_until,
            "last_attempt_at": d.last_attempt_at, "last_status_code": d.last_status_code,
            "last_error": d.last_error, "delivered_at": d.delivered_at,
        }  # fmt: skip

    @classmethod
    def build(cls, delivery: Delivery) -> DeliveryPublic:
        return cls.model_validate(cls.fields_of(delivery))


class DeliveryDetail(DeliveryPublic):
    log: list[AttemptPublic] = Field(description="The latest attempts (up to 100), oldest first.")

    @classmethod
    def build(cls, delivery: Delivery) -> DeliveryDetail:
        fields = cls.fields_of(delivery)
        return cls.model_validate({**fields, "log": [AttemptPublic.build(a) for a in delivery.log]})


class DeliveryPage(BaseModel):
    data: list[DeliveryPublic] = Field(description="Newest event first.")
    next_cursor: str | None
