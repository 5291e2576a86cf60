"""One router per resource, assembled here (the app includes :data:`ROUTERS` in order)."""

from __future__ import annotations

from fastapi import APIRouter

from api.routers import (
    accounts,
    admin,
    billing,
    checkpoint,
    entries,
    leaderboards,
    ops,
    payments,
    proofs,
    redemptions,
    rewards,
    social,
)

ROUTERS: tuple[APIRouter, ...] = (
    ops.router,
    accounts.router,
    entries.router,
    admin.router,
    proofs.router,
    checkpoint.router,
    rewards.router,
    leaderboards.router,
    redemptions.router,
    social.router,
    billing.public,
    billing.router,
    payments.router,
)
