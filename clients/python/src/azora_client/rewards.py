"""Rewards (DESIGN §6): earning events, rules, the catalog, spends, gifts, adjustments,
wallets and their history, leaderboards, classes and friends, and redemptions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azora_client.models import (
    Board,
    CatalogItem,
    Earning,
    Friendship,
    HistoryLine,
    Movement,
    Page,
    Redemption,
    Rule,
    Wallet,
    decode,
    new_idempotency_key,
)
from azora_client.transport import Transport, replayed


class RewardsCalls:
    """``/v1/rewards/*``, ``/v1/leaderboards``, ``/v1/classes``, ``/v1/users/{id}/…``."""

    _t: Transport

    def reward_event(
        self,
        event_id: str,
        user_id: str,
        event_type: str,
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> Earning:
        """Report what a user did; ``event_id`` is the idempotency key (a retry earns once).
        Over a daily cap: :class:`~azora_client.errors.CapReached`."""
        body = {
            "event_id": event_id,
            "user_id": user_id,
            "type": event_type,
            "metadata": dict(metadata or {}),
        }
        return decode(Earning, self._t.call("POST", "/v1/rewards/events", json=body).json())

    def reward_rules(self) -> list[Rule]:
        data = self._t.call("GET", "/v1/rewards/rules").json()
        return [decode(Rule, r) for r in data["data"]]

    def put_reward_rule(
        self, event_type: str, amount: str, *, daily_cap: str | None = None, active: bool = True
    ) -> Rule:
        body = {"amount": amount, "daily_cap": daily_cap, "active": active}
        got = self._t.call("PUT", f"/v1/rewards/rules/{event_type}", json=body)
        return decode(Rule, got.json())

    def catalog(self) -> list[CatalogItem]:
        data = self._t.call("GET", "/v1/rewards/catalog").json()
        return [decode(CatalogItem, i) for i in data["data"]]

    def add_catalog_item(
        self,
        item_id: str,
        name: str,
        item_type: str,
        price: str,
        *,
        stock: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> CatalogItem:
        body = {
            "id": item_id,
            "name": name,
            "type": item_type,
            "price": price,
            "stock": stock,
            "metadata": dict(metadata or {}),
        }
        return decode(CatalogItem, self._t.call("POST", "/v1/rewards/catalog", json=body).json())

    def spend(
        self,
        user_id: str,
        amount: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Movement:
        body = {"user_id": user_id, "amount": amount, "metadata": dict(metadata or {})}
        return self._movement("/v1/rewards/spends", body, idempotency_key)

    def gift(
        self,
        user_id: str,
        to_user_id: str,
        amount: str,
        *,
        message: str | None = None,
        idempotency_key: str | None = None,
    ) -> Movement:
        body = {"to_user_id": to_user_id, "amount": amount, "message": message}
        return self._movement(f"/v1/users/{user_id}/gifts", body, idempotency_key)

    def adjust(self, entry_id: str, reason: str, *, idempotency_key: str | None = None) -> Movement:
        """Reverse an AZR entry (admin), with the reason recorded."""
        body = {"entry_id": entry_id, "reason": reason}
        return self._movement("/v1/rewards/adjustments", body, idempotency_key)

    def _movement(self, path: str, body: dict[str, Any], key: str | None) -> Movement:
        response = self._t.call(
            "POST", path, json=body, idempotency_key=key or new_idempotency_key()
        )
        return decode(Movement, {**response.json(), "replayed": replayed(response)})

    def wallet(self, user_id: str) -> Wallet:
        return decode(Wallet, self._t.call("GET", f"/v1/users/{user_id}/rewards").json())

    def reward_history(
        self, user_id: str, *, limit: int = 100, cursor: str | None = None
    ) -> Page[HistoryLine]:
        params = {"limit": limit, "cursor": cursor}
        data = self._t.call("GET", f"/v1/users/{user_id}/rewards/history", params=params).json()
        return Page(tuple(decode(HistoryLine, d) for d in data["data"]), data["next_cursor"])

    def leaderboard(
        self,
        scope: str = "global",
        *,
        window: str = "all",
        limit: int = 100,
        user_id: str | None = None,
    ) -> Board:
        """``global``, ``class:{id}`` or ``friends:{user}``; ``window`` all, week or month."""
        params = {"window": window, "limit": limit, "user_id": user_id}
        got = self._t.call("GET", f"/v1/leaderboards/{scope}", params=params)
        return decode(Board, got.json())

    def join_class(self, class_id: str, user_id: str) -> None:
        self._t.call("POST", f"/v1/classes/{class_id}/members", json={"user_id": user_id})

    def befriend(self, user_id: str, friend_id: str) -> Friendship:
        got = self._t.call("POST", f"/v1/users/{user_id}/friends", json={"friend_id": friend_id})
        return decode(Friendship, got.json())

    # redemptions

    def redeem(
        self,
        user_id: str,
        item_id: str,
        *,
        shipping_address: Mapping[str, Any] | None = None,
        eth_address: str | None = None,
        idempotency_key: str | None = None,
    ) -> Redemption:
        """Redeem a catalog item: its price is held until the redemption settles."""
        body: dict[str, Any] = {"item_id": item_id}
        if shipping_address is not None:
            body["shipping_address"] = dict(shipping_address)
        if eth_address is not None:
            body["eth_address"] = eth_address
        got = self._t.call(
            "POST",
            f"/v1/users/{user_id}/redemptions",
            json=body,
            idempotency_key=idempotency_key or new_idempotency_key(),
        )
        return decode(Redemption, got.json())

    def redemptions(
        self, user_id: str, *, limit: int = 100, cursor: str | None = None
    ) -> Page[Redemption]:
        params = {"limit": limit, "cursor": cursor}
        data = self._t.call("GET", f"/v1/users/{user_id}/redemptions", params=params).json()
        return Page(tuple(decode(Redemption, r) for r in data["data"]), data["next_cursor"])

    def get_redemption(self, user_id: str, redemption_id: str) -> Redemption:
        got = self._t.call("GET", f"/v1/users/{user_id}/redemptions/{redemption_id}")
        return decode(Redemption, got.json())

    def cancel_redemption(self, user_id: str, redemption_id: str) -> Redemption:
        return self._resolve(user_id, redemption_id, "cancel", None)

    def fulfil_redemption(self, user_id: str, redemption_id: str) -> Redemption:
        return self._resolve(user_id, redemption_id, "fulfil", None)

    def reject_redemption(self, user_id: str, redemption_id: str, reason: str) -> Redemption:
        return self._resolve(user_id, redemption_id, "reject", {"reason": reason})

    def _resolve(
        self, user_id: str, redemption_id: str, action: str, body: dict[str, Any] | None
    ) -> Redemption:
        path = f"/v1/users/{user_id}/redemptions/{redemption_id}/{action}"
        return decode(Redemption, self._t.call("POST", path, json=body).json())
