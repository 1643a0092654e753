# Tandem: `make demo` runs it, `make test` tests it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Test runs keep their files out of the developer's var/.
TEST_VAR := $(CURDIR)/var/test
PYTEST := TANDEM_VAR_DIR=$(TEST_VAR) $(BIN)/pytest

.PHONY: install demo up test lint typecheck contracts migrations-check system-deps \
        test-crm test-engagement test-e2e test-db bench clean node-deps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP)

# Debian packages the tests and benchmarks use: Chromium (browser tests), postfix's smtp-sink
# (bench/sends), wrk (bench/oauth), curl (a chunked token request, tests/e2e) and faketime (a
# skewed clock, tests/e2e/test_faults.py).
system-deps:
	@command -v chromium >/dev/null && command -v smtp-sink >/dev/null && command -v wrk >/dev/null \
	  && command -v curl >/dev/null && command -v faketime >/dev/null || { apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium postfix wrk curl faketime; }

demo: install
	$(BIN)/tandem demo

up: install
	$(BIN)/tandem up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy tandem config

contracts: install
	$(BIN)/lint-imports

migrations-check: install
	TANDEM_VAR_DIR=$(TEST_VAR) $(BIN)/tandem crm makemigrations --check --dry-run
	TANDEM_VAR_DIR=$(TEST_VAR) $(BIN)/tandem engagement makemigrations --check --dry-run

test-crm: install
	TANDEM_SERVICE=crm $(PYTEST) tests/core tests/crm tests/quality

test-engagement: install
	TANDEM_SERVICE=engagement $(PYTEST) tests/engagement

# The real Salesforce clients tests/e2e/clients drives (jsforce, the sf CLI), pinned by the
# committed package-lock.json. Node and npm come from Debian when missing; `npm ci` runs again
# only when the lockfile changed.
CLIENTS := tests/e2e/clients
CLIENTS_STAMP := $(CLIENTS)/node_modules/.installed-stamp

$(CLIENTS_STAMP): $(CLIENTS)/package.json $(CLIENTS)/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	cd $(CLIENTS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

node-deps: $(CLIENTS_STAMP)

test-e2e: install node-deps
	$(PYTEST) tests/e2e

# The suites that touch a database or a broker (run twice by CI: SQLite, then PostgreSQL).
test-db: system-deps test-crm test-engagement test-e2e

test: lint typecheck contracts migrations-check test-db

bench: install system-deps node-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var/test .mypy_cache .ruff_cache .pytest_cache $(CLIENTS)/node_modules
