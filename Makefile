# The project's front door: every documented workflow is one target. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

COMPOSE ?= docker compose
USERS ?= 10
SPAWN_RATE ?= 5
DURATION ?= 30s

.PHONY: help install model serve test test-fast lint format up api-key down logs ps loadtest test-stack soak bench

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): api/pyproject.toml api/requirements-llama.txt api/requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@echo "installing the api (llama-cpp-python builds from source the first time: ~6 min)"
	$(BIN)/pip install --quiet -e 'api[dev,llama]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the api with its dev/test extras

model: install ## download the default model (SmolLM2-135M-Instruct GGUF) into models/ (once)
	@$(BIN)/python -m llm_gateway.backends.llama.default_model

serve: install model ## run the api natively under gunicorn (port 8001; PORT, WORKERS override)
	@$(BIN)/python -m llm_gateway.preflight
	exec $(BIN)/gunicorn -c api/gunicorn.conf.py

test: install model ## run the whole test suite (sets up what it needs; no Docker)
	$(BIN)/pytest -q api/tests -m "not stack"

test-fast: install ## only the in-process tests (no server processes, no model)
	$(BIN)/pytest -q api/tests -m "not model and not stack" -k "not server" --ignore=api/tests/proxy

lint: install ## ruff (lint + format check) and mypy
	$(BIN)/ruff check api bench
	$(BIN)/ruff format --check api bench
	cd api && ../$(BIN)/mypy

format: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix api bench
	$(BIN)/ruff format api bench

up: ## build, check the settings, start the stack (api + Caddy), wait until healthy; says open or keyed
	scripts/up.sh

api-key: ## add a new random API key to secrets/api_keys (use with API_KEYS_FILE=secrets/api_keys)
	@scripts/api-key.sh

down: ## stop the stack and remove its containers
	$(COMPOSE) down

logs: ## follow the stack's logs
	$(COMPOSE) logs -f --tail=100

ps: ## show the stack's containers
	$(COMPOSE) ps

loadtest: ## run locust against the proxy (USERS=10 SPAWN_RATE=5 DURATION=30s); report in loadtest/results/
	USERS=$(USERS) SPAWN_RATE=$(SPAWN_RATE) DURATION=$(DURATION) scripts/loadtest.sh

test-stack: install ## end-to-end tests of the Compose stack (builds images; needs Docker)
	$(BIN)/pytest -q api/tests/stack -m stack -p no:cacheprovider

soak: install ## soak test (SOAK_DURATION=10m; not in `make test`): mock backend under locust, 0 failures, flat worker RSS
	scripts/soak.sh

$(BENCH_STAMP): bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -r bench/requirements.txt
	touch $(BENCH_STAMP)

bench: install model $(BENCH_STAMP) ## benchmark on loopback, ~5 min (not in `make test`; LLAMA_SERVER=path adds llama.cpp's server); bench/results/
	$$(command -v flock >/dev/null && echo flock /tmp/bench.lock) $(BIN)/python bench/run.py
