"""API keys: made, listed, revoked. The secret is shown once, in ``token``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from seatledger.api import limits
from seatledger.service.ports import ApiKey


class ApiKeyCreate(BaseModel):
    name: str = Field(default="", max_length=limits.NAME, examples=["billing backend"])
    email: str | None = Field(
        default=None,
        min_length=3,
        max_length=limits.EMAIL,
        description="Bind the key to this person of the account; leave out for an account-wide "
        "key, whose requests name the acting person in `Seatledger-Actor`.",
    )


class ApiKeyRead(BaseModel):
    id: str
    name: str
    person_id: str | None = Field(description="The person the key acts as; null: account-wide.")
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyRead:
        return cls(
            id=key.id,
            name=key.name,
            person_id=key.person_id,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(BaseModel):
    """The new key. ``token`` is the key itself, shown this once: keep it (null when a retried
    request is answered again)."""

    api_key: ApiKeyRead
    token: str | None
