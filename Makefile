# Azora Ledger. `make run` serves the API on the embedded default; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)

# Test database: created (and recreated) by the test suite itself.
AZORA_TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/azora_test
export AZORA_TEST_PG_URL

.PHONY: run test test-unit lint format deps bench clean

$(BIN)/.installed: requirements.lock pyproject.toml clients/python/pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e . -e clients/python
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(BIN)/.installed $(if $(wildcard package.json),node_modules/.installed)

run: deps
	$(BIN)/azora db upgrade
	$(BIN)/azora serve

test: deps
	bash tests/support/ensure-postgres.sh
	$(BIN)/pytest -q $(PYTEST_ARGS)

test-unit: deps
	$(BIN)/pytest -q tests/unit $(PYTEST_ARGS)

lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: deps
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules .azora .pytest_cache .mypy_cache .ruff_cache

# Further targets (contracts, benchmarks) live in mk/*.mk.
-include mk/*.mk
