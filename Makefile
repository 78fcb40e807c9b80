# The two commands a new user runs: `make demo` and `make test`. Both set up .venv first.
# Only a Python 3 is needed on the machine: the first run installs uv into .venv-tools, and uv
# builds .venv from uv.lock, one lock for every supported Python (3.10 to 3.13).
PYTHON ?= python3
# The Python of .venv, the one the pinned `make test` runs on (`make test-compat` covers the rest).
VENV_PYTHON ?= 3.11
UV_VERSION := 0.13.9
TOOLS := .venv-tools
UV := $(CURDIR)/$(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AIRFLOW_HOME ?= $(CURDIR)/.airflow_home_test
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := True
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
# Every environment uv builds (here and in `make test-compat`) is compiled to bytecode as it is installed,
# on every core: otherwise each test process that first imports Airflow compiles it again (about 16% of
# `make test` on a fresh clone).
export UV_COMPILE_BYTECODE := 1
export UV

.PHONY: help install test lint typecheck pytest demo bench clean lock compat-lock test-compat dist e2e docs docs-shots

help:
	@echo "make test        - set up .venv and run ruff, mypy and the test suite"
	@echo "make demo        - run the bulk-import gate DAG against the built-in Zendesk emulator"
	@echo "make test-compat - the test suite on Airflow 3.0, 3.1, 3.2 and 3.3 (Python 3.10 to 3.13)"
	@echo "make e2e         - the scenarios in a real Airflow deployment (E2E_DB=postgres for PostgreSQL)"
	@echo "make dist        - build the sdist and the wheel into dist/"
	@echo "make bench       - compare with the alternatives and write benchmarks/RESULTS.md"
	@echo "make docs        - build the documentation site into docs/_build/html (warnings are errors)"
	@echo "make docs-shots  - render the index and the bulk operator page to PNG in docs/_build/shots"

# The tools venv gets no pip of its own (ensurepip takes longer than installing uv): the machine's pip
# installs uv into it, or, where that pip is missing or older than 22.3 (no --python), the venv's own.
$(UV):
	$(PYTHON) -m venv --without-pip $(TOOLS)
	$(PYTHON) -m pip --python $(TOOLS)/bin/python install --quiet "uv==$(UV_VERSION)" 2>/dev/null || \
		{ $(TOOLS)/bin/python -m ensurepip --default-pip >/dev/null && \
		  $(TOOLS)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"; }

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --quiet --frozen --python $(VENV_PYTHON) --extra test
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

# tests/packaging builds and installs the wheel; here a missing build tool fails it instead of skipping.
# One pytest-xdist worker per core (PYTEST_WORKERS=0 runs in this process), each with its own AIRFLOW_HOME;
# loadgroup hands tests out one by one, the longest first (tests/conftest.py orders them).
PYTEST_WORKERS ?= auto
pytest: install
	ZENDESK_REQUIRE_PACKAGING=1 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

test: lint typecheck pytest

# Runs the bulk-import gate DAG end to end against the built-in Zendesk emulator (SQLite, no account).
demo: install
	$(BIN)/python scripts/demo.py

# The bench extra (the HTTP and official Zendesk providers, zenpy) goes into .venv only for `make bench`.
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(UV) sync --quiet --frozen --python $(VENV_PYTHON) --extra test --extra bench
	touch $(BENCH_STAMP)

# Runs every script in benchmarks/ one after the other and rewrites benchmarks/RESULTS.md (a few minutes).
bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run_all.py

# The whole suite once per supported Airflow minor, each in its own venv pinned by compat/*.txt;
# prints a table and fails when any environment fails. COMPAT_ENVS=airflow-3.0 runs only that one.
test-compat: $(UV)
	$(TOOLS)/bin/python scripts/test_compat.py $(COMPAT_ENVS)

# The sdist and the wheel a user installs, in dist/.
dist: $(UV)
	rm -rf dist
	$(UV) build --quiet --out-dir dist

# Re-resolves uv.lock after a dependency changed (PyPI as of [tool.uv] exclude-newer in pyproject.toml).
lock: $(UV)
	$(UV) lock

# Rewrites the per-environment pins of `make test-compat` in compat/.
compat-lock: $(UV)
	$(TOOLS)/bin/python scripts/test_compat.py --lock $(COMPAT_ENVS)

# A real deployment (api-server, scheduler, dag-processor, triggerers; LocalExecutor) against the emulator,
# under 10 minutes: SQLite by default, PostgreSQL with E2E_DB=postgres (E2E_PG_URL). With E2E_REDIS_URL, the
# CeleryExecutor beside it and two Celery workers (the celery scenario, skipped without it). The harness, the
# scenarios and their DAGs are the package scripts/e2e/ (python -m scripts.e2e).
E2E_STAMP := $(VENV)/.installed-e2e
$(E2E_STAMP): $(STAMP)
	$(UV) sync --quiet --frozen --python $(VENV_PYTHON) --extra test --extra e2e
	touch $(E2E_STAMP)

e2e: $(E2E_STAMP)
	$(BIN)/python -m scripts.e2e

# The docs extra (Sphinx, MyST, Furo) goes into .venv only for `make docs`. Another extra's sync
# (`make bench`, `make e2e`) takes Sphinx out of .venv again: the stamp then counts as missing.
DOCS_STAMP := $(VENV)/.installed-docs
DOCS_OUT := docs/_build
$(DOCS_STAMP): $(STAMP)
	$(UV) sync --quiet --frozen --python $(VENV_PYTHON) --extra test --extra docs
	touch $(DOCS_STAMP)
ifeq ($(wildcard $(BIN)/sphinx-build),)
.PHONY: $(DOCS_STAMP)
endif

# The Sphinx site in docs/: every warning (a broken include, an unresolved reference) fails the build.
docs: $(DOCS_STAMP)
	$(BIN)/sphinx-build -W --keep-going -n -q -b html docs $(DOCS_OUT)/html

# The index and the bulk operator page as a reader sees them, rendered by Debian's chromium
# (`apt-get install chromium`) into docs/_build/shots/ (not committed).
CHROMIUM ?= chromium
DOCS_SHOTS := index bulk
docs-shots: docs
	@command -v $(CHROMIUM) >/dev/null || { echo "docs-shots needs $(CHROMIUM): apt-get install -y chromium" >&2; exit 1; }
	mkdir -p $(DOCS_OUT)/shots
	@for page in $(DOCS_SHOTS); do \
		profile="$$(mktemp -d)"; \
		$(CHROMIUM) --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
			--disable-background-networking --disable-component-update --disable-sync \
			--user-data-dir="$$profile" --window-size=1280,2000 \
			--screenshot="$(CURDIR)/$(DOCS_OUT)/shots/$$page.png" "file://$(CURDIR)/$(DOCS_OUT)/html/$$page.html" \
			>/dev/null 2>&1; status=$$?; rm -rf "$$profile"; \
		[ $$status -eq 0 ] && [ -s $(DOCS_OUT)/shots/$$page.png ] || { echo "docs-shots: $$page failed" >&2; exit 1; }; \
		echo "$(DOCS_OUT)/shots/$$page.png"; \
	done

clean:
	rm -rf $(VENV) $(TOOLS) .venv-compat dist .airflow_home* .mypy_cache .ruff_cache .pytest_cache $(DOCS_OUT)
