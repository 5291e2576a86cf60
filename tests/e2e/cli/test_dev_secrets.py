"""In development the JWT secret is generated once under the data directory: `azora tokens
issue` signs tokens the server accepts, and they survive a restart."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.conftest import start_server


def test_cli_tokens_work_and_survive_a_restart(e2e_db: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {"AZORA_JWT_SECRET": "", "AZORA_DATA_DIR": str(data_dir)}
    server = start_server(e2e_db, tmp_path / "first.log", **env)
    try:
        issued = server.azora("tokens", "issue", "--user", "alice")
        assert issued.returncode == 0, issued.stderr
        token = issued.stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{server.url}/v1/users/alice/rewards", headers=headers).status_code == 200
    finally:
        server.stop()
    assert (data_dir / "jwt-secret").is_file()
    again = start_server(e2e_db, tmp_path / "second.log", **env)
    try:
        answer = httpx.get(f"{again.url}/v1/users/alice/rewards", headers=headers)
        assert answer.status_code == 200, answer.text
        other = httpx.get(f"{again.url}/v1/users/bob/rewards", headers=headers)
        assert other.status_code == 404
    finally:
        again.stop()
