"""The dependency audit's decisions (scripts/audit.py): a finding fails, an accepted one is
noted, a vulnerability service that cannot answer is a warning and never a silent pass."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from scripts import audit

VULN = {"id": "PYSEC-2099-1", "fix_versions": ["2.0.1"], "aliases": ["GHSA-aaaa-bbbb-cccc"]}


def _pip(*deps: Mapping[str, object]) -> str:
    return json.dumps({"dependencies": list(deps), "fixes": []})


def test_pip_finding_fails_with_its_fix() -> None:
    got = audit.pip_verdict(
        1,
        _pip(
            {"name": "lib", "version": "2.0.0", "vulns": [VULN]},
            {"name": "ok", "version": "1", "vulns": []},
        ),
        "",
    )
    assert got.findings == ["lib 2.0.0: PYSEC-2099-1 (2.0.1)"]
    assert not got.warnings


def test_pip_ignored_advisory_by_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "IGNORED", {"GHSA-aaaa-bbbb-cccc": "no fix; not reachable"})
    got = audit.pip_verdict(1, _pip({"name": "lib", "version": "2.0.0", "vulns": [VULN]}), "")
    assert not got.findings and "ignored PYSEC-2099-1" in got.notes[0]


def test_pip_nothing_audited_is_a_warning_not_a_pass() -> None:
    skipped = {"name": "lib", "skip_reason": "Dependency not found on PyPI"}
    got = audit.pip_verdict(0, _pip(skipped, {**skipped, "name": "other"}), "")
    assert not got.findings
    assert len(got.warnings) == 1 and "NOT audited" in got.warnings[0]


def test_pip_some_skipped_are_named() -> None:
    got = audit.pip_verdict(
        0, _pip({"name": "a", "version": "1", "vulns": []}, {"name": "b", "skip_reason": "x"}), ""
    )
    assert got.warnings == ["pip-audit: 1 of 2 packages not audited: b"]


def test_pip_unreachable_versus_broken() -> None:
    offline = audit.pip_verdict(1, "", "requests.exceptions.ConnectionError: Max retries exceeded")
    assert not offline.findings and "unreachable" in offline.warnings[0]
    broken = audit.pip_verdict(2, "", "usage: pip-audit: error: unrecognized arguments")
    assert broken.findings and not broken.warnings


def _npm(vulnerabilities: dict[str, object]) -> str:
    return json.dumps({"vulnerabilities": vulnerabilities, "metadata": {"vulnerabilities": {}}})


def test_npm_high_fails_moderate_does_not() -> None:
    report = _npm(
        {
            "bad": {"severity": "high", "via": [{"source": 1099}], "fixAvailable": True},
            "meh": {"severity": "moderate", "via": [{"source": 1100}], "fixAvailable": False},
        }
    )
    got = audit.npm_verdict(1, report, "")
    assert got.findings == ["bad: high (a fix is available)"]


def test_npm_audit_service_unavailable_is_a_warning() -> None:
    answer = json.dumps(
        {"message": "405 Method Not Allowed - POST .../advisories/bulk", "error": {}}
    )
    got = audit.npm_verdict(1, answer, "npm error audit endpoint returned an error")
    assert not got.findings and "NOT audited" in got.warnings[0]
    offline = audit.npm_verdict(1, json.dumps({"error": {"code": "ENOTFOUND"}}), "")
    assert not offline.findings and offline.warnings
