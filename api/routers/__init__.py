"""One router per resource, assembled here (the app includes :data:`ROUTERS` in order)."""

from __future__ import annotations

from fastapi import APIRouter

from api.routers import (
    accounts,
    admin,
    entries,
    leaderboards,
    ops,
    proofs,
    redemptions,
    rewards,
    social,
)

ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router
    for module in (
        ops,
        accounts,
        entries,
        admin,
        proofs,
        rewards,
        leaderboards,
        redemptions,
        social,
    )
)
