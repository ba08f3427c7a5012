# The few commands a newcomer needs. `make help` lists them.
# Everything installs itself: a virtualenv in .venv (Python) and node_modules (solcjs + OpenZeppelin).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python

.DEFAULT_GOAL := help
.PHONY: help demo test test-packages lint typecheck docs unit compile clean

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

# Slither (static analysis) in its own virtualenv: it pins web3<8, the project web3 8.
$(VENV)/slither/bin/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)/slither
	$(VENV)/slither/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/slither/bin/python -m pip install --quiet --group static
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

demo: $(BIN)/.installed ## Run the demo on the embedded chain (compiles first if the contracts changed)
	$(PY) scripts/compile_contracts.py --if-stale
	$(BIN)/consentledger demo

test: $(BIN)/.installed $(VENV)/slither/bin/.installed node_modules/.installed test-packages lint typecheck docs ## Run the whole suite: ruff, mypy strict, the docs site's strict build, pytest
	$(BIN)/pytest

# The machine packages the tests use, from Debian when absent: Chromium renders the API's pages,
# PostgreSQL's programs run a throwaway server for the journal and bureau tests (tests/harness/postgres.py).
test-packages:
	@command -v chromium >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium postgresql >/dev/null; }

lint: $(BIN)/.installed ## Lint and check formatting (ruff)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed ## Type-check in strict mode (mypy)
	$(BIN)/mypy

docs: $(BIN)/.installed ## Build the docs site strictly (build/site)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -f docs/mkdocs.yml

unit: $(BIN)/.installed node_modules/.installed ## The tests without the slow ones (pytest -m 'not slow')
	$(BIN)/pytest -m 'not slow'

compile: $(BIN)/.installed node_modules/.installed ## Recompile the contracts into the package's artifacts
	$(PY) scripts/compile_contracts.py

clean: ## Remove the virtualenv and node_modules
	rm -rf $(VENV) node_modules
