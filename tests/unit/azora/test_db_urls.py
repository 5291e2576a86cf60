"""Database URLs with percent-escapes: multi-host (failover) forms and passwords that must be
URL-escaped reach Alembic intact, and no password is ever shown."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy.engine import make_url

from azora.db import alembic_config, display_url

PASSWORD = "p@ss/w%rd:#? x y"
URLS = [
    f"postgresql+psycopg://azora:{quote(PASSWORD, safe='')}@127.0.0.1:5432/azora",
    "postgresql+psycopg://azora@/azora?host=127.0.0.1:42595&host=127.0.0.1:57259"
    "&target_session_attrs=read-write",
    f"postgresql+psycopg://azora:{quote(PASSWORD, safe='')}@/azora?host=h1:5432&host=h2:5433"
    "&target_session_attrs=read-write",
]


@pytest.mark.parametrize("url", URLS)
def test_alembic_config_holds_no_url_to_interpolate(url: str) -> None:
    config = alembic_config()
    # Every main option reads back without interpolation errors, and none is the URL.
    for section in config.file_config.sections():
        for key in config.file_config.options(section):
            assert "%" not in config.file_config.get(section, key)
    assert config.get_main_option("sqlalchemy.url") is None


@pytest.mark.parametrize("url", URLS)
def test_display_url_masks_the_password(url: str) -> None:
    shown = display_url(url)
    assert PASSWORD not in shown
    assert quote(PASSWORD, safe="") not in shown
    assert make_url(url).password is None or "***" in shown
    assert str(make_url(url).database) in shown


def test_the_parsed_url_keeps_the_password_and_hosts() -> None:
    parsed = make_url(URLS[2])
    assert parsed.password == PASSWORD
    assert parsed.query["host"] == ("h1:5432", "h2:5433")


def test_an_unparsable_url_is_not_echoed() -> None:
    assert display_url("::not a url with secret::") == "<unparsable database URL>"
