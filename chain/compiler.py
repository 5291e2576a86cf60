"""Reproducible compilation of AzoraToken with py-solc-x through the solc-js shim.

py-solc-x cannot download a native compiler on our machines, so it calls
``hardhat-free-scripts/solc-shim/solc``, a Node script around the exact solc-js pinned in
package.json. The output is a deterministic JSON artifact (sorted keys, no timestamps),
committed under ``contracts/build/`` so that running the service never needs Node.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from chain.artifact import CONTRACT_NAME, DEFAULT_ARTIFACT_PATH, REPO_ROOT, SOURCE_NAME
from chain.errors import CompilerError

SOLC_VERSION = "0.8.28"
SHIM_PATH = REPO_ROOT / "hardhat-free-scripts" / "solc-shim" / "solc"
NODE_MODULES = REPO_ROOT / "node_modules"

# Recorded in the artifact; any change here changes the bytecode, so the artifact test notices.
COMPILER_SETTINGS: dict[str, Any] = {
    "evmVersion": "cancun",
    "optimizer": {"enabled": True, "runs": 200},
    "metadata": {"bytecodeHash": "ipfs"},
}
_OUTPUTS = ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]


def _source_path(unit: str) -> Path:
    """Where a source unit name lives on disk: ours in the repo, libraries in node_modules."""
    if unit.startswith("@"):
        return NODE_MODULES / unit
    return REPO_ROOT / unit


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_toolchain(shim: Path) -> None:
    if shutil.which("node") is None:
        raise CompilerError("node is not on PATH: install Node.js 18+ and run `npm ci`")
    if not (NODE_MODULES / "solc").is_dir() or not (NODE_MODULES / "@openzeppelin").is_dir():
        raise CompilerError(f"{NODE_MODULES} lacks solc or @openzeppelin: run `npm ci`")
    if not shim.is_file():
        raise CompilerError(f"solc shim missing at {shim}")


def compile_contract(shim: Path = SHIM_PATH) -> dict[str, Any]:
    """Compiles contracts/AzoraToken.sol and returns the artifact as a JSON-ready dict."""
    _check_toolchain(shim)
    import solcx  # deferred: only the build tooling needs it
    from solcx.exceptions import SolcError

    version = str(solcx.wrapper.get_solc_version(shim, with_commit_hash=True))
    if not version.startswith(SOLC_VERSION + "+"):
        raise CompilerError(f"shim answers solc {version}, expected exactly {SOLC_VERSION}")
    source = (REPO_ROOT / SOURCE_NAME).read_text(encoding="utf-8")
    compiler_input = {
        "language": "Solidity",
        "sources": {SOURCE_NAME: {"content": source}},
        "settings": {
            **COMPILER_SETTINGS,
            "outputSelection": {SOURCE_NAME: {CONTRACT_NAME: _OUTPUTS}},
        },
    }
    try:
        output = solcx.compile_standard(compiler_input, base_path=REPO_ROOT, solc_binary=shim)
    except SolcError as e:
        raise CompilerError(f"compilation failed: {e}") from e
    return _to_artifact(output, version)


def _to_artifact(output: dict[str, Any], version: str) -> dict[str, Any]:
    contract = output["contracts"][SOURCE_NAME][CONTRACT_NAME]
    units = sorted(output["sources"])
    sources = {unit: {"sha256": _sha256_file(_source_path(unit))} for unit in units}
    digest = hashlib.sha256(
        "".join(f"{sources[u]['sha256']}  {u}\n" for u in units).encode()
    ).hexdigest()
    package_lock = json.loads((REPO_ROOT / "package-lock.json").read_text(encoding="utf-8"))
    npm = {
        name: package_lock["packages"][f"node_modules/{name}"]["version"]
        for name in ("solc", "@openzeppelin/contracts")
    }
    warnings = [e["formattedMessage"] for e in output.get("errors", [])]
    return {
        "contractName": CONTRACT_NAME,
        "sourceName": SOURCE_NAME,
        "compiler": {"name": "solc-js", "version": version, "settings": COMPILER_SETTINGS},
        "npm": npm,
        "abi": contract["abi"],
        "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + contract["evm"]["deployedBytecode"]["object"],
        "metadata": contract["metadata"],
        "sources": sources,
        "sourcesSha256": digest,
        "warnings": warnings,
    }


def artifact_bytes(artifact: dict[str, Any]) -> bytes:
    """The canonical file form: sorted keys, two-space indent, trailing newline."""
    return (json.dumps(artifact, indent=2, sort_keys=True) + "\n").encode("utf-8")


def write_artifact(artifact: dict[str, Any], path: Path = DEFAULT_ARTIFACT_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(artifact_bytes(artifact))
    return path
