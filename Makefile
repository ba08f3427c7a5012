# The few commands a newcomer needs. `make help` lists them.
# Everything installs itself: a virtualenv in .venv (Python) and node_modules (solcjs + OpenZeppelin).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python

.DEFAULT_GOAL := help
.PHONY: help demo test lint typecheck unit compile clean

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

test: $(BIN)/.installed $(VENV)/slither/bin/.installed node_modules/.installed ## Run the whole suite: ruff, mypy strict, the docs site's strict build, pytest
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -f docs/mkdocs.yml
	$(BIN)/pytest

compile: $(BIN)/.installed node_modules/.installed ## Recompile the contracts into the package's artifacts
	$(PY) scripts/compile_contracts.py

clean: ## Remove the virtualenv and node_modules
	rm -rf $(VENV) node_modules
