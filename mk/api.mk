# HTTP API: its tests, its lint, and its throughput benchmark (included by the root Makefile).
.PHONY: test-api lint-api bench-api bench-soak

API_PY := api azora migrations/versions/0002_api_auth.py tests/e2e tests/unit/api \
	tests/integration/api bench/api_throughput.py

test-api: dev-deps
	bash tests/support/ensure-postgres.sh
	$(BIN)/pytest -q tests/unit/api tests/integration/api tests/e2e $(PYTEST_ARGS)

lint-api: dev-deps
	$(BIN)/ruff check $(API_PY)
	$(BIN)/ruff format --check $(API_PY)
	$(BIN)/mypy $(API_PY)

# Needs wrk: `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk` (macOS).
bench-api: dev-deps
	bash tests/support/ensure-postgres.sh
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk (or brew install wrk)"; exit 1; }
	$(BIN)/python bench/api_throughput.py $(BENCH_ARGS)

# Minutes of mixed load on a served instance: memory flat? p99 stable? (BENCH_ARGS=--minutes 10)
bench-soak: dev-deps
	bash tests/support/ensure-postgres.sh
	$(BIN)/python bench/soak.py $(BENCH_ARGS)
