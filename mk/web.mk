# The pages under /app (web/): vendored browser modules and the browser tests.
.PHONY: vendor test-pages

# The pages load keccak256 from @noble/hashes, served by the service itself: its built ES
# modules are copied from node_modules (pinned in package.json) and committed, so running
# the service needs no Node. tests/unit/test_web_assets.py checks the copies are exact.
NOBLE_FILES := sha3.js _u64.js utils.js LICENSE
vendor: node_modules/.installed
	mkdir -p web/assets/vendor/noble-hashes
	for f in $(NOBLE_FILES); do cp node_modules/@noble/hashes/$$f web/assets/vendor/noble-hashes/$$f; done

# Browser tests alone (Debian's chromium, driven by Playwright; see tests/e2e/pages).
test-pages: deps browser
	bash tests/support/ensure-postgres.sh
	$(BIN)/pytest -q tests/e2e/pages $(PYTEST_ARGS)

# Chromium for the browser tests (Debian's package; Playwright downloads no browser). Where
# it cannot be installed the browser tests fail, naming the command; AZORA_SKIP_BROWSER=1
# skips them instead.
.PHONY: browser
browser:
	@if [ "$${AZORA_SKIP_BROWSER:-0}" = 1 ]; then echo "AZORA_SKIP_BROWSER=1: no browser tests"; \
	elif command -v chromium >/dev/null || [ -n "$${AZORA_CHROMIUM:-}" ]; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "installing chromium for the browser tests"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	    || echo "WARNING: chromium could not be installed: the browser tests will fail"; \
	else echo "WARNING: chromium is missing (apt-get install -y chromium): the browser tests will fail"; fi

# `make test` runs the browser tests too: get the browser first.
test: browser
