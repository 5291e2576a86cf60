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
