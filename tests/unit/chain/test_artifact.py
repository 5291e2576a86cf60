"""The committed artifact: reproducible from the sources, and exposing DESIGN section 7."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from chain import AzoraToken, load_artifact
from chain.artifact import DEFAULT_ARTIFACT_PATH, REPO_ROOT, SOURCE_NAME
from chain.compiler import SOLC_VERSION, artifact_bytes, compile_contract

# DESIGN.md section 7, as canonical signatures (inputs) -> outputs.
DESIGN_FUNCTIONS = {
    "ANCHOR_ROLE()": ["bytes32"],
    "MINTER_ROLE()": ["bytes32"],
    "anchor(uint64,bytes32,bytes32[])": [],
    "anchorCount()": ["uint256"],
    "anchorAt(uint256)": ["uint64", "bytes32", "uint64"],
    "verifyInclusion(uint256,uint64,bytes32,bytes32[])": ["bool"],
    "mint(address,uint256)": [],
    "name()": ["string"],
    "symbol()": ["string"],
    "decimals()": ["uint8"],
    "totalSupply()": ["uint256"],
    "balanceOf(address)": ["uint256"],
    "transfer(address,uint256)": ["bool"],
    "allowance(address,address)": ["uint256"],
    "approve(address,uint256)": ["bool"],
    "transferFrom(address,address,uint256)": ["bool"],
    "hasRole(bytes32,address)": ["bool"],
    "grantRole(bytes32,address)": [],
    "revokeRole(bytes32,address)": [],
}


def signature(item: dict[str, object]) -> str:
    inputs = item.get("inputs", [])
    assert isinstance(inputs, list)
    return f"{item['name']}({','.join(str(i['type']) for i in inputs)})"


def test_artifact_loads_and_records_the_compiler() -> None:
    artifact = load_artifact()
    assert artifact.compiler_version.startswith(SOLC_VERSION + "+commit.")
    raw = json.loads(DEFAULT_ARTIFACT_PATH.read_text())
    assert raw["compiler"]["settings"]["optimizer"] == {"enabled": True, "runs": 200}
    assert raw["warnings"] == []


def test_artifact_was_built_from_the_current_source() -> None:
    """Catches an edit of the .sol without a recompile, even where Node is absent."""
    raw = json.loads(DEFAULT_ARTIFACT_PATH.read_text())
    source = (REPO_ROOT / SOURCE_NAME).read_bytes()
    assert raw["sources"][SOURCE_NAME]["sha256"] == hashlib.sha256(source).hexdigest()


def test_abi_has_exactly_the_design_interface() -> None:
    abi = load_artifact().abi
    functions = {
        signature(i): [o["type"] for o in i["outputs"]] for i in abi if i["type"] == "function"
    }
    for sig, outputs in DESIGN_FUNCTIONS.items():
        assert functions.get(sig) == outputs, sig
    (anchored,) = [i for i in abi if i["type"] == "event" and i["name"] == "Anchored"]
    assert [(i["name"], i["type"], i["indexed"]) for i in anchored["inputs"]] == [
        ("index", "uint256", True),
        ("treeSize", "uint64", False),
        ("root", "bytes32", False),
    ]
    errors = {signature(i) for i in abi if i["type"] == "error"}
    assert {
        "AzoraInvalidAdmin()",
        "AzoraTreeSizeNotIncreasing(uint64,uint64)",
        "AzoraAnchorIndexOutOfRange(uint256,uint256)",
    } <= errors


def test_deployed_code_is_the_artifact(admin: AzoraToken) -> None:
    admin.check_deployed(require_same_code=True)


@pytest.mark.skipif(
    shutil.which("node") is None, reason="Node.js is not installed: cannot run solc-js"
)
def test_fresh_compile_reproduces_the_committed_artifact_byte_for_byte() -> None:
    """Needs `npm ci` (solc and @openzeppelin/contracts in node_modules)."""
    fresh = artifact_bytes(compile_contract())
    assert fresh == DEFAULT_ARTIFACT_PATH.read_bytes(), (
        "contracts/build/AzoraToken.json is stale: run `make compile-contracts` and commit it"
    )
