"""Compile contracts/AzoraToken.sol into contracts/build/AzoraToken.json (needs `npm ci`).

.venv/bin/python hardhat-free-scripts/compile.py           # write the artifact
.venv/bin/python hardhat-free-scripts/compile.py --check   # exit 1 if it would change
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import _common  # noqa: F401 - puts the repository on sys.path

from chain.artifact import DEFAULT_ARTIFACT_PATH
from chain.compiler import artifact_bytes, compile_contract, write_artifact
from chain.errors import ChainError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_ARTIFACT_PATH)
    parser.add_argument(
        "--check", action="store_true", help="compare with --out instead of writing it"
    )
    args = parser.parse_args(argv)
    try:
        artifact = compile_contract()
    except ChainError as e:
        print(f"compile failed: {e}", file=sys.stderr)
        return 2
    size = (len(artifact["deployedBytecode"]) - 2) // 2
    print(f"solc {artifact['compiler']['version']}, runtime {size} bytes")
    for warning in artifact["warnings"]:
        print(warning, file=sys.stderr)
    if args.check:
        same = args.out.is_file() and args.out.read_bytes() == artifact_bytes(artifact)
        print(f"{args.out}: {'up to date' if same else 'DIFFERS from a fresh compile'}")
        return 0 if same else 1
    print(f"wrote {write_artifact(artifact, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
