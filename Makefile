# The two commands a new user runs: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONSTRAINTS := constraints.txt
export AIRFLOW_HOME ?= $(CURDIR)/.airflow_home_test
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := True

.PHONY: help install test lint typecheck pytest demo bench clean lock e2e

help:
	@echo "make test   - set up .venv and run ruff, mypy and the test suite"
	@echo "make demo   - run the bulk-import gate DAG against the built-in Zendesk emulator"
	@echo "make bench  - compare with the alternatives and write benchmarks/RESULTS.md"
	@echo "make e2e    - run the scenarios in a real Airflow deployment (E2E_DB=postgres for PostgreSQL)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

$(STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/python -m pip install --quiet --constraint $(CONSTRAINTS) -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# Runs the bulk-import gate DAG end to end against the built-in Zendesk emulator (SQLite, no account).
demo: install
	$(BIN)/python scripts/demo.py

# The bench extra (the HTTP and official Zendesk providers, zenpy) goes into .venv only for `make bench`.
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --constraint $(CONSTRAINTS) -e ".[test,bench]"
	touch $(BENCH_STAMP)

# Runs every script in benchmarks/ one after the other and rewrites benchmarks/RESULTS.md (a few minutes).
bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run_all.py

# Regenerates the lock from what the current .venv resolved (run after changing dependencies); the
# bench extra is installed first so that its pins stay in the lock.
lock: $(BENCH_STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' | sort > $(CONSTRAINTS)

# A real deployment (api-server, scheduler, dag-processor, triggerers; LocalExecutor) against the emulator,
# under 10 minutes: SQLite by default, PostgreSQL with E2E_DB=postgres (E2E_PG_URL). See scripts/e2e.py.
E2E_STAMP := $(VENV)/.installed-e2e
$(E2E_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --constraint $(CONSTRAINTS) -e ".[test,e2e]"
	touch $(E2E_STAMP)

e2e: $(E2E_STAMP)
	$(BIN)/python scripts/e2e.py

clean:
	rm -rf $(VENV) .airflow_home* .mypy_cache .ruff_cache .pytest_cache
