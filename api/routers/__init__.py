"""One router per resource, assembled here (the app includes :data:`ROUTERS` in order)."""

from __future__ import annotations

from fastapi import APIRouter

from api.routers import (
    accounts,
    admin,
    billing,
    checkpoint,
    courses,
    entries,
    events,
    instructors,
    leaderboards,
    library,
    licenses,
    materials,
    ops,
    orgs,
    payments,
    proofs,
    purchases,
    redemptions,
    reviews,
    rewards,
    social,
    tickets,
    webhooks,
    whitelabel,
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
    # marketplace (DESIGN §12)
    courses.public,
    courses.router,
    materials.router,
    purchases.router,
    reviews.router,
    library.router,
    instructors.router,
    orgs.router,
    whitelabel.router,
    licenses.public,
    licenses.router,
    tickets.router,
    # the change stream and webhooks (DESIGN §15)
    events.router,
    webhooks.router,
)
