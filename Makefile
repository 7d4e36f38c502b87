# Creator bonus engine: every developer command. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_SAM := .venv-sam
SAM_CLI_VERSION := 1.170.0
BIN := $(VENV)/bin
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help install test lint format build validate pytest demo emulator bench clean chromium

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/bonus: pyproject.toml layers/bonus_engine/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,report]'
	@touch $@

# SAM CLI pins boto3 and pydantic versions that clash with the application's, so it
# lives in a virtual environment of its own.
$(VENV_SAM)/bin/sam:
	$(PYTHON) -m venv $(VENV_SAM)
	$(VENV_SAM)/bin/pip install --quiet 'aws-sam-cli==$(SAM_CLI_VERSION)'

install: $(BIN)/bonus $(VENV_SAM)/bin/sam ## Set up .venv (app + tools) and .venv-sam (SAM CLI)

lint: $(BIN)/bonus ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(BIN)/bonus ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

validate: install ## sam validate --lint and cfn-lint on template.yaml
	$(VENV_SAM)/bin/sam validate --lint --template template.yaml
	$(BIN)/cfn-lint template.yaml

build: install ## sam build (functions and layers, no container)
	$(VENV_SAM)/bin/sam build --template template.yaml

pytest: $(BIN)/bonus ## pytest only (unit, integration, e2e; built artifacts if built)
	$(BIN)/pytest -n 2

# The report's browser test needs Chromium: installed here when missing and possible (as
# root, with apt-get); elsewhere that one test is skipped, saying why.
chromium: ## Debian's Chromium for the report's browser test, when missing
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: the report's browser test will be skipped"; \
	fi

test: lint validate build chromium ## Everything CI checks: lint, template, build, tests
	REQUIRE_SAM_BUILD=1 $(BIN)/pytest -n 2

demo: $(BIN)/bonus ## Replay a synthetic program on the local emulation and show the result
	$(BIN)/bonus demo

emulator: $(BIN)/bonus ## Run the emulation (moto server + template resources) until Ctrl-C
	$(BIN)/bonus emulator

bench: $(BIN)/bonus ## Run the benchmarks and print their figures (see docs/PERFORMANCE.md)
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.compute

clean: ## Remove build output and virtual environments
	rm -rf .aws-sam $(VENV) $(VENV_SAM) .pytest_cache .mypy_cache .ruff_cache .hypothesis
