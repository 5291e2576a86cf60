# Operations: fault injection and failover (included by the root Makefile). Each starts its
# own PostgreSQL clusters (initdb in a temporary directory), servers and nodes, and stops
# them again; the shared server on 5432 is never touched. Figures are printed (-s).
.PHONY: test-failover test-fault

# Where the servers', anvil's and PostgreSQL's logs of the last run stay for reading.
FAULT_TMP ?= /tmp/azora-fault-run

test-failover: deps
	$(BIN)/pytest -q -s -p no:cacheprovider --basetemp=$(FAULT_TMP) tests/fault/test_failover.py $(PYTEST_ARGS)

test-fault: deps
	$(BIN)/pytest -q -s -p no:cacheprovider --basetemp=$(FAULT_TMP) tests/fault $(PYTEST_ARGS)
