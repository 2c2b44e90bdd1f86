# finplat: `make run` serves the platform on embedded defaults; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
INSTALL_INPUTS := pyproject.toml constraints.txt

.PHONY: run test install install-dev services lint typecheck imports pytest bench web clean

run: export FINPLAT_LOG_FORMAT ?= console
run: install web ## install, migrate, seed demo data and serve on http://127.0.0.1:8000
	$(BIN)/finplat migrate
	$(BIN)/finplat demo
	$(BIN)/finplat serve

test: install-dev services lint typecheck imports pytest ## every check CI runs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(RUNTIME_STAMP): $(BIN)/python $(INSTALL_INPUTS)
	$(PIP) install -c constraints.txt -e .
	touch $@

$(DEV_STAMP): $(BIN)/python $(INSTALL_INPUTS)
	$(PIP) install -c constraints.txt -e ".[dev]"
	touch $@ $(RUNTIME_STAMP)

install: $(RUNTIME_STAMP)

install-dev: $(DEV_STAMP)

web: ## build the web app when there is one
	@if [ -f web/package.json ]; then cd web && npm ci --no-audit --no-fund && npm run build; fi

services: ## PostgreSQL and Redis on 127.0.0.1, started when installed and down
	./scripts/ensure-services.sh

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy src tests benchmarks

imports: install-dev
	$(BIN)/lint-imports

pytest: install-dev services
	$(BIN)/pytest

bench: install-dev ## run the benchmarks (see benchmarks/README.md)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
