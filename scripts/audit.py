"""Known vulnerabilities in the pinned dependencies: ``make audit`` (part of ``make lint``).

* Python: ``pip-audit`` over ``requirements.lock`` and ``requirements-dev.lock`` (every pin,
  no resolution) against PyPI's vulnerability data (``--vulnerability-service pypi``).
* npm: ``npm audit --audit-level=high`` over ``package-lock.json``.

A finding fails (exit 1), with the fixed versions when there are some: upgrade the pin, or,
when no fix exists, add the advisory to ``IGNORED`` below with the reason. When a
vulnerability service cannot be reached (no network, a registry mirror without the audit
API) this prints a WARNING saying what was not audited and does not fail: an offline
``make lint`` still checks the code; the audit then has to run where the registries answer.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ("requirements.lock", "requirements-dev.lock")
TIMEOUT_S = 600

# Advisories accepted on purpose, each with why (id -> reason). Empty: none accepted.
IGNORED: dict[str, str] = {}

_NETWORK_SIGNS = (
    "ConnectionError",
    "ProxyError",
    "Max retries exceeded",
    "NameResolutionError",
    "Temporary failure in name resolution",
    "timed out",
    "ENOTFOUND",
    "ECONNREFUSED",
    "ECONNRESET",
    "EAI_AGAIN",
    "ETIMEDOUT",
    "audit endpoint returned an error",
)


@dataclass
class Verdict:
    findings: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _unreachable(text: str) -> bool:
    return any(sign in text for sign in _NETWORK_SIGNS)


def pip_verdict(returncode: int, stdout: str, stderr: str) -> Verdict:
    """What one ``pip-audit --format json`` run says."""
    verdict = Verdict()
    try:
        report: dict[str, Any] = json.loads(stdout)
    except json.JSONDecodeError:
        if _unreachable(stderr):
            verdict.warnings.append(
                "pip-audit: PyPI's vulnerability service is unreachable; Python dependencies"
                " NOT audited"
            )
        else:
            verdict.findings.append(f"pip-audit failed (exit {returncode}):\n{stderr[-2000:]}")
        return verdict
    deps = report.get("dependencies", [])
    skipped = [d["name"] for d in deps if d.get("skip_reason")]
    audited = len(deps) - len(skipped)
    for dep in deps:
        for vuln in dep.get("vulns", []):
            ids = [vuln["id"], *vuln.get("aliases", [])]
            if any(i in IGNORED for i in ids):
                verdict.notes.append(f"ignored {vuln['id']} in {dep['name']}: see IGNORED")
                continue
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version"
            verdict.findings.append(f"{dep['name']} {dep['version']}: {vuln['id']} ({fixes})")
    if deps and audited == 0:
        verdict.warnings.append(
            f"pip-audit: the vulnerability service answered for none of {len(deps)} packages"
            " (PyPI's per-release JSON API is not served here); Python dependencies NOT audited"
        )
    elif skipped:
        verdict.warnings.append(
            f"pip-audit: {len(skipped)} of {len(deps)} packages not audited: {', '.join(skipped)}"
        )
    else:
        verdict.notes.append(f"pip-audit: {audited} packages audited")
    return verdict


def npm_verdict(returncode: int, stdout: str, stderr: str) -> Verdict:
    """What one ``npm audit --audit-level=high --json`` run says."""
    verdict = Verdict()
    try:
        report: dict[str, Any] = json.loads(stdout) if stdout.strip() else {}
    except json.JSONDecodeError:
        report = {}
    if "vulnerabilities" not in report:
        if _unreachable(stderr + stdout) or "error" in report:
            detail = report.get("message") or (stderr.strip().splitlines() or ["no answer"])[-1]
            verdict.warnings.append(
                f"npm audit: the registry's audit service is unavailable ({detail});"
                " npm packages NOT audited"
            )
        else:
            verdict.findings.append(f"npm audit failed (exit {returncode}):\n{stderr[-2000:]}")
        return verdict
    for name, vuln in sorted(report["vulnerabilities"].items()):
        if vuln.get("severity") not in ("high", "critical"):
            continue
        sources = [str(v.get("source")) for v in vuln.get("via", []) if isinstance(v, dict)]
        if sources and all(s in IGNORED for s in sources):
            verdict.notes.append(f"ignored {', '.join(sources)} in {name}: see IGNORED")
            continue
        fix = vuln.get("fixAvailable")
        fix_text = "a fix is available" if fix else "no fix available"
        verdict.findings.append(f"{name}: {vuln['severity']} ({fix_text})")
    counts = report.get("metadata", {}).get("vulnerabilities", {})
    verdict.notes.append(f"npm audit: {counts or 'no'} vulnerabilities by severity")
    return verdict


def _run(command: list[str]) -> tuple[int, str, str]:
    try:
        done = subprocess.run(  # noqa: S603 (fixed commands: pip-audit, npm)
            command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return 1, "", f"{command[0]} timed out after {TIMEOUT_S} s"
    return done.returncode, done.stdout, done.stderr


def main() -> int:
    pip_audit = Path(sys.executable).with_name("pip-audit")
    command = [str(pip_audit), "--vulnerability-service", "pypi", "--no-deps", "--disable-pip"]
    for lock in LOCKS:
        command += ["-r", lock]
    verdicts = [pip_verdict(*_run([*command, "--format", "json", "--progress-spinner", "off"]))]
    if (ROOT / "package-lock.json").exists():
        npm = shutil.which("npm")
        if npm is None:
            verdicts.append(Verdict(warnings=["npm audit: npm is not installed; NOT audited"]))
        else:
            verdicts.append(npm_verdict(*_run([npm, "audit", "--audit-level=high", "--json"])))
    findings = [f for v in verdicts for f in v.findings]
    for line in (n for v in verdicts for n in v.notes):
        print(f"audit: {line}")
    for line in (w for v in verdicts for w in v.warnings):
        print(f"WARNING: {line}", file=sys.stderr)
    for line in findings:
        print(f"VULNERABLE: {line}", file=sys.stderr)
    if findings:
        print("audit: upgrade the pins above, or accept one in scripts/audit.py IGNORED")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
