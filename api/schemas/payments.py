"""The provider webhook's answer."""

from __future__ import annotations

from pydantic import BaseModel


class WebhookReceived(BaseModel):
    received: bool
    duplicate: bool
