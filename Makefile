# The project's front door: every documented workflow is one target. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed
DOCS_VENV := .venv-docs
DOCS_STAMP := $(DOCS_VENV)/.installed

COMPOSE ?= docker compose
USERS ?= 10
SPAWN_RATE ?= 5
DURATION ?= 30s

.PHONY: help install model serve test test-fast lint format up api-key down logs ps loadtest test-stack soak test-load bench dashboard rules-test
.PHONY: node-install test-frontend agents-install
.PHONY: swarm-up swarm-down swarm-push test-swarm
.PHONY: docs

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

model: install ## fetch the default model (SmolLM2-135M-Instruct GGUF) and tokenizer data into models/ (once)
	@$(BIN)/python -m llm_gateway.assets

serve: install model ## run the api natively under gunicorn (port 8001; PORT, WORKERS override)
	@$(BIN)/python -m llm_gateway.preflight
	exec $(BIN)/gunicorn -c api/gunicorn.conf.py

test: install model node-install agents-install ## run the whole test suite (sets up what it needs; no Docker)
	$(BIN)/pytest -q api/tests -m "not stack and not swarm"

test-fast: install ## every in-process test: none marked server, model, proxy, stack, swarm, browser, node or agents
	LLM_GATEWAY_TESTS_IN_PROCESS_ONLY=1 $(BIN)/pytest -q api/tests -m "not server and not model and not proxy and not stack and not swarm and not browser and not node and not agents"

lint: install ## ruff (lint + format check) and mypy
	$(BIN)/ruff check api examples/python bench monitoring
	$(BIN)/ruff format --check api examples/python bench monitoring
	cd api && ../$(BIN)/mypy

format: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix api examples/python bench
	$(BIN)/ruff format api examples/python bench

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

# --- Docker Swarm: the same stack on one or many machines (deploy/swarm.yml) ---
swarm-up: ## deploy the stack on Docker Swarm (a one-node swarm is created if none), wait until healthy; says open or keyed
	scripts/swarm-up.sh

swarm-down: ## remove the Swarm stack and its secrets; leave the swarm if swarm-up created it (SWARM_VOLUMES=rm: volumes too)
	scripts/swarm-down.sh

swarm-push: ## build and push the api and proxy images (API_IMAGE, PROXY_IMAGE: registry names) for other nodes
	docker compose -f docker-compose.yml -f deploy/swarm.yml build api proxy
	docker compose -f docker-compose.yml -f deploy/swarm.yml push api proxy

test-swarm: install ## end-to-end tests of the stack on a one-node Docker Swarm (needs Docker; leaves no swarm it created)
	$(BIN)/pytest -q api/tests/swarm -m swarm -p no:cacheprovider

soak: install ## soak test (SOAK_DURATION=10m; not in `make test`): mock backend under locust, 0 failures, flat worker RSS
	scripts/soak.sh

test-load: install ## load held through Caddy (not in `make test`, ~1 min): 1,000 streams on one worker with 0 errors, 5,000 idle keep-alive connections; RSS per stream
	$(BIN)/python bench/load_scenario.py

# --- Frontends: examples/node (npm ci once per lockfile change) and the browser tests ---
NODE_STAMP := examples/node/node_modules/.installed

$(NODE_STAMP): examples/node/package.json examples/node/package-lock.json
	cd examples/node && npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

node-install: ## install the Node examples' pinned packages (npm ci; skipped with a note without npm)
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(NODE_STAMP); \
	else echo "npm not found: the Node tests will be skipped (REQUIRE_NODE=1 fails them)"; fi

# --- Coding-agent CLIs (Claude Code, Codex) the api/tests/agents tests drive (npm ci, pinned) ---
AGENTS_STAMP := api/tests/agents/node_modules/.installed

$(AGENTS_STAMP): api/tests/agents/package.json api/tests/agents/package-lock.json
	cd api/tests/agents && npm ci --no-audit --no-fund
	touch $(AGENTS_STAMP)

agents-install: ## install the coding-agent CLIs the agents tests run (npm ci; skipped with a note without npm)
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(AGENTS_STAMP); \
	else echo "npm not found: the coding-agent tests will be skipped (REQUIRE_AGENTS=1 fails them)"; fi

test-frontend: install model node-install ## the chat page in Chromium, CORS from another origin, the Python and Node examples
	$(BIN)/pytest -q api/tests/browser api/tests/examples

# --- Benchmark: its load generator in a venv of its own ---
$(BENCH_STAMP): bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -r bench/requirements.txt
	touch $(BENCH_STAMP)

bench: install model $(BENCH_STAMP) ## benchmark on loopback, ~30 min with LLAMA_SERVER (not in `make test`; LLAMA_SERVER=path adds llama.cpp's server); bench/results/
	$$(command -v flock >/dev/null && echo flock /tmp/bench.lock) $(BIN)/python bench/run.py

# --- Dashboards and alerts as code (monitoring/) ---
dashboard: install ## regenerate monitoring/grafana/llm-gateway.json from monitoring/dashboard.py (Grafana's foundation SDK)
	$(BIN)/python monitoring/dashboard.py

rules-test: ## promtool check + unit tests of the Prometheus rules (promtool: Debian's prometheus package)
	cd monitoring/rules && promtool check rules llm-gateway.rules.yml && promtool test rules llm-gateway.test.yml

# --- Docs: the MkDocs site (mkdocs.yml, docs/) in a venv of its own; output in site/ ---
$(DOCS_STAMP): docs/requirements.txt
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/pip install --quiet --upgrade pip
	$(DOCS_VENV)/bin/pip install --quiet -r docs/requirements.txt
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP) ## build the docs site in strict mode (a broken link or anchor fails)
	NO_MKDOCS_2_WARNING=1 $(DOCS_VENV)/bin/mkdocs build --strict
