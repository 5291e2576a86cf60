# Azora Ledger. `make run` serves the API on the embedded default; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)

# Test database: created (and recreated) by the test suite itself.
AZORA_TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/azora_test
export AZORA_TEST_PG_URL

.PHONY: run test test-unit lint audit format deps dev-deps bench clean

# Runtime dependencies (requirements.lock) for `make run`; test and lint tools
# (requirements-dev.lock) only for the targets that need them. Each step says what it does.
PIP_PROGRESS := sed -un -e 's/^Collecting \([^ ;]*\).*/    \1/p' -e 's/^Successfully installed.*/    done/p'

$(BIN)/.installed: requirements.lock pyproject.toml clients/python/pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	@test -x $(BIN)/python || { echo "==> creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> upgrading pip"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "==> installing the runtime dependencies ($$(grep -c '==' requirements.lock) pinned packages, first time ~1 min)"
	@set -o pipefail; $(BIN)/python -m pip install --no-input -r requirements.lock | $(PIP_PROGRESS)
	@echo "==> installing azora-ledger and azora-client (editable)"
	@$(BIN)/python -m pip install --quiet --no-deps -e . -e clients/python
	@touch $@

$(BIN)/.dev-installed: $(BIN)/.installed requirements-dev.lock
	@echo "==> installing the test and lint tools ($$(grep -c '==' requirements-dev.lock) pinned packages)"
	@set -o pipefail; $(BIN)/python -m pip install --no-input -r requirements-dev.lock | $(PIP_PROGRESS)
	@touch $@

node_modules/.installed: package.json package-lock.json
	@echo "==> installing the npm packages (anvil, solc-js)"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(BIN)/.installed $(if $(wildcard package.json),node_modules/.installed)

dev-deps: deps $(BIN)/.dev-installed

run: deps
	@echo "==> applying migrations"
	$(BIN)/azora db upgrade
	@echo "==> serving (Ctrl-C stops the server and the local anvil it started)"
	$(BIN)/azora serve

test: dev-deps
	bash tests/support/ensure-postgres.sh
	$(BIN)/pytest -q -n auto $(PYTEST_ARGS)

test-unit: dev-deps
	$(BIN)/pytest -q tests/unit $(PYTEST_ARGS)

lint: dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python scripts/audit.py

# Known vulnerabilities in requirements*.lock (pip-audit) and package-lock.json (npm audit):
# fails on a finding; an unreachable vulnerability service is a WARNING (scripts/audit.py).
audit: dev-deps
	$(BIN)/python scripts/audit.py

format: dev-deps
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules .azora .pytest_cache .mypy_cache .ruff_cache

# Further targets (contracts, benchmarks) live in mk/*.mk.
-include mk/*.mk
