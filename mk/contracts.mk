# Contracts: compile (py-solc-x through the solc-js shim), lint (slither), gas benchmark.
# Needs `npm ci` first (the `deps` target runs it when package.json exists).

SLITHER_VENV := .venv-slither
SLITHER_VERSION := 0.11.6
SOLC_SHIM := hardhat-free-scripts/solc-shim/solc

.PHONY: compile-contracts check-contracts lint-contracts bench-gas

compile-contracts: deps
	$(BIN)/python hardhat-free-scripts/compile.py

# Fails when a fresh compile would change the committed artifact.
check-contracts: deps
	$(BIN)/python hardhat-free-scripts/compile.py --check

# slither-analyzer pins web3 < 8, so it lives in its own virtualenv.
$(SLITHER_VENV)/.installed:
	test -x $(SLITHER_VENV)/bin/python || $(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/python -m pip install --quiet slither-analyzer==$(SLITHER_VERSION)
	@touch $@

# Fails on any medium or high finding; accepted informational ones: contracts/README.md.
lint-contracts: deps $(SLITHER_VENV)/.installed
	$(SLITHER_VENV)/bin/slither contracts/AzoraToken.sol \
		--solc $(SOLC_SHIM) \
		--solc-remaps "@openzeppelin/=node_modules/@openzeppelin/" \
		--fail-medium

bench-gas: deps
	$(BIN)/python bench/gas.py
