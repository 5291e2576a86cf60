"""The committed build of AzoraToken: ABI and bytecode, loaded without Node or a compiler."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chain.errors import ArtifactError

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACT_NAME = "AzoraToken"
SOURCE_NAME = "contracts/AzoraToken.sol"
DEFAULT_ARTIFACT_PATH = REPO_ROOT / "contracts" / "build" / f"{CONTRACT_NAME}.json"

_REQUIRED_KEYS = ("abi", "bytecode", "deployedBytecode", "compiler", "sourcesSha256")


@dataclass(frozen=True)
class ContractArtifact:
    """ABI and bytecode of one compiled contract, plus how they were made."""

    contract_name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler_version: str
    sources_sha256: str

    def __post_init__(self) -> None:
        for name, code in (
            ("bytecode", self.bytecode),
            ("deployedBytecode", self.deployed_bytecode),
        ):
            if not code.startswith("0x") or len(code) <= 2:
                raise ArtifactError(f"artifact {name} is empty or not 0x-hex")


def load_artifact(path: Path | None = None) -> ContractArtifact:
    """Reads the artifact written by ``hardhat-free-scripts/compile.py``."""
    path = path or DEFAULT_ARTIFACT_PATH
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ArtifactError(f"no contract artifact at {path}: run compile-contracts") from e
    except (OSError, ValueError) as e:
        raise ArtifactError(f"unreadable contract artifact {path}: {e}") from e
    if not isinstance(raw, dict) or any(k not in raw for k in _REQUIRED_KEYS):
        raise ArtifactError(f"{path} lacks one of {_REQUIRED_KEYS}")
    return ContractArtifact(
        contract_name=str(raw.get("contractName", CONTRACT_NAME)),
        abi=list(raw["abi"]),
        bytecode=str(raw["bytecode"]),
        deployed_bytecode=str(raw["deployedBytecode"]),
        compiler_version=str(raw["compiler"]["version"]),
        sources_sha256=str(raw["sourcesSha256"]),
    )
