"""``azora webhooks deliver`` against a migrated SQLite database and a real receiver."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from azora.bootstrap import build
from azora.cli import main
from azora.settings import Settings
from ledger import Account, NewEntry, Posting
from tests.integration.webhooks.receiver import Receiver


def test_deliver_sends_what_is_due_and_exits(
    make_db_url: Callable[[str], str], tmp_path: Path
) -> None:
    env = {
        "AZORA_DATABASE_URL": make_db_url("sqlite"),
        "AZORA_ANCHORING": "off",
        "AZORA_DATA_DIR": str(tmp_path),
        "AZORA_JWT_SECRET": "cli-jwt-secret-" * 4,
    }
    receiver = Receiver()
    try:
        settings = Settings(
            database_url=env["AZORA_DATABASE_URL"], anchoring=False, data_dir=tmp_path
        )
        with build(settings, group_commit=False) as container:
            book = container.ledger
            book.create_account(Account("world:card", "USD", allow_negative=True))
            book.create_account(Account("user:a:usd", "USD"))
            container.webhooks.endpoints.create("key:a", receiver.url())
            posting = Posting("world:card", "user:a:usd", "USD", 100)
            seq = book.post_entry(NewEntry("transfer", (posting,))).entry.seq
        result = CliRunner().invoke(main, ["webhooks", "deliver"], env=env)
        assert result.exit_code == 0, result.output
        assert "webhooks: 1 delivered, 0 failed attempts, 0 given up" in result.output
        assert [json.loads(r.body)["seq"] for r in receiver.at("/hook")] == [seq]
        again = CliRunner().invoke(main, ["webhooks", "deliver"], env=env)
        assert "webhooks: 0 delivered" in again.output
    finally:
        receiver.close()
