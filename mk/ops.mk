# Operations: fault injection and failover (included by the root Makefile). Each starts its
# own PostgreSQL clusters (initdb in a temporary directory), servers and nodes, and stops
# them again; the shared server on 5432 is never touched. Figures are printed (-s).
.PHONY: test-failover test-fault

test-failover: deps
	$(BIN)/pytest -q -s -p no:cacheprovider tests/fault/test_failover.py $(PYTEST_ARGS)

test-fault: deps
	$(BIN)/pytest -q -s -p no:cacheprovider tests/fault $(PYTEST_ARGS)
