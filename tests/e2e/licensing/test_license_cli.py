"""A live server and the ``azora`` command beside it: keys verified offline from the
published keys (no database at all), a rotation while serving, the SLA check, and the
development signing secret kept across a restart."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ROOT, LiveServer, start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ADMIN_KEY = "e2e-licensing-admin-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
LICENSE = {"tier": "professional", "seats": 3, "expires_at": "2099-01-01T00:00:00Z",
           "payment_method": "pm_card_visa"}  # fmt: skip


def offline(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``azora`` pointed at a database that does not exist: it must not need one."""
    env = {"AZORA_DATABASE_URL": f"sqlite:///{tmp_path}/missing/none.db", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "azora.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def issue(server: LiveServer, org: str) -> dict[str, str]:
    body = {"id": org, "name": org.title(), "owner_user_id": "olga"}
    httpx.post(f"{server.url}/v1/orgs", json=body, headers=AUTH).raise_for_status()
    made = httpx.post(f"{server.url}/v1/orgs/{org}/licenses", json=LICENSE, headers=AUTH)
    made.raise_for_status()
    result: dict[str, str] = made.json()
    return result


def test_offline_verification_rotation_and_restart(e2e_db: str, tmp_path: Path) -> None:
    env = {"AZORA_ADMIN_API_KEY": ADMIN_KEY, "AZORA_DATA_DIR": str(tmp_path / "data")}
    server = start_server(e2e_db, tmp_path / "first.log", **env)
    try:
        first = issue(server, "acme")
        keys_file = tmp_path / "keys.json"
        keys_file.write_text(httpx.get(f"{server.url}/v1/licenses/keys").text)
        done = offline("license", "verify", first["key"], "--keys", str(keys_file),
                       tmp_path=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"valid: license {first['id']} of acme: professional")
        assert "revocation was not checked" in done.stdout
        assert not (tmp_path / "missing").exists()  # nothing created
        tampered = first["key"][:-4] + ("AAAA" if not first["key"].endswith("AAAA") else "BBBB")
        bad = offline("license", "verify", tampered, "--keys", str(keys_file), tmp_path=tmp_path)
        assert bad.returncode == 1 and bad.stdout.startswith("invalid: ")
        later = offline("license", "verify", first["key"], "--keys", str(keys_file), "--now",
                        "2100-01-01T00:00:00Z", tmp_path=tmp_path)  # fmt: skip
        assert later.returncode == 1 and later.stdout.startswith("invalid: expired")

        rotated = server.azora("license", "rotate-key")
        assert rotated.returncode == 0, rotated.stderr
        assert f"{first['kid']} retired" in rotated.stdout
        second = issue(server, "globex")
        assert second["kid"] != first["kid"]
        statuses = {k["kid"]: k["status"] for k in
                    httpx.get(f"{server.url}/v1/licenses/keys").json()["keys"]}  # fmt: skip
        assert statuses == {first["kid"]: "retired", second["kid"]: "active"}
        # The old keys file does not know the new key; the service does.
        stale = offline("license", "verify", second["key"], "--keys", str(keys_file),
                        tmp_path=tmp_path)  # fmt: skip
        assert stale.returncode == 1 and stale.stdout.startswith("invalid: unknown-key")
        online = server.azora("license", "verify", second["key"])
        assert online.returncode == 0 and online.stdout.startswith("valid: "), online.stdout
        checked = server.azora("licensing", "sla-check", "--now", "2030-01-01T00:00:00Z")
        assert checked.returncode == 0 and checked.stdout.startswith("sla: 0 newly breached")
        bad_now = server.azora("licensing", "sla-check", "--now", "9999-12-31T23:00:00-14:00")
        assert bad_now.returncode != 0 and "Traceback" not in bad_now.stderr
    finally:
        server.stop()
    assert (tmp_path / "data" / "license-signing-key").is_file()
    again = start_server(e2e_db, tmp_path / "second.log", **env)
    try:
        for made in (first, second):
            verdict = httpx.post(f"{again.url}/v1/licenses/validate", json={"key": made["key"]})
            assert verdict.json()["valid"] is True, verdict.text
        third = issue(again, "initech")  # the same secret still signs with the active key
        assert third["kid"] == second["kid"]
    finally:
        again.stop()
    assert "Traceback" not in (tmp_path / "first.log").read_text()


def test_a_keys_file_that_is_not_one_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "keys.json"
    bad.write_text(json.dumps({"nope": []}))
    done = offline("license", "verify", "azl1.a.b", "--keys", str(bad), tmp_path=tmp_path)
    assert done.returncode == 1 and "is not the JSON of GET /v1/licenses/keys" in done.stderr
    missing = offline("license", "verify", "azl1.a.b", "--keys", str(tmp_path / "none.json"),
                      tmp_path=tmp_path)  # fmt: skip
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
