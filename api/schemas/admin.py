"""Administration: API keys and user tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from api.keystore import ApiKey
from api.schemas.common import Input
from api.security import Scope

USER_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class ApiKeyCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "rewards-service", "scopes": ["entries:write"]}]}
    )

    name: Annotated[StrictStr, Field(max_length=128)] = ""
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=len(Scope))]


class ApiKeyPublic(BaseModel):
    id: str
    name: str
    scopes: list[Scope]
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def build(cls, key: ApiKey) -> ApiKeyPublic:
        return cls(
            id=key.id,
            name=key.name,
            scopes=sorted(key.scopes),
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret key: shown once, store it now.")


class ApiKeyList(BaseModel):
    data: list[ApiKeyPublic]


class UserTokenCreate(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [{"user_id": "42"}]})

    user_id: Annotated[StrictStr, Field(pattern=USER_ID_PATTERN)]
    ttl_s: Annotated[StrictInt, Field(ge=60, le=7 * 86400)] | None = None


class UserTokenPublic(BaseModel):
    token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    user_id: str
    expires_at: datetime
