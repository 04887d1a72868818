# caredesk: `make demo` serves the demo store, `make test` runs the whole check.
# Every install comes from requirements.lock (exact versions with hashes): see docs/development.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
TOOLS := .venv-tools
HOST ?= 127.0.0.1
PORT ?= 8000
PIP_QUIET ?= --quiet
# Tests run on as many processes as there are cores (pytest-xdist); PYTEST_WORKERS=0 for one.
# A process that runs out of tests takes the queued ones of another (worksteal), so that long
# tests queued last on one process do not keep the other waiting (docs/development.md).
PYTEST_WORKERS ?= auto
PYTEST_DIST ?= worksteal

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test test-fast lockcheck lint typecheck imports pytest unit bench install lock \
	lock-upgrade screenshots clean

# Checked before anything is installed: the lock answers pyproject.toml and this Python.
lockcheck:
	@if [ -z "$(PYTHON)" ] || ! command -v "$(PYTHON)" >/dev/null; then \
	  echo "*** make: no Python at '$(PYTHON)' (looked for python3.11, then python3)." \
	       "Install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; fi
	@$(PYTHON) scripts/lockfile.py check $(LOCK)
	@if [ -x $(BIN)/python ]; then $(BIN)/python scripts/lockfile.py check $(LOCK); fi

$(STAMP): pyproject.toml $(LOCK) scripts/lockfile.py
	@$(MAKE) --no-print-directory lockcheck
	@rm -f $(STAMP)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the locked dependencies into $(VENV) (about 2 GB, mostly PyTorch's CPU build)."
	@$(BIN)/python -m pip install $(PIP_QUIET) --require-hashes -r $(LOCK) || { \
	  echo "*** make: installing from $(LOCK) failed (see above). torch is locked as its CPU"; \
	  echo "*** build 2.13.0+cpu: pip must find that wheel, from a folder named by PIP_FIND_LINKS"; \
	  echo "*** or from https://download.pytorch.org/whl/cpu (PIP_EXTRA_INDEX_URL)."; exit 1; }
	@$(BIN)/python -m pip install $(PIP_QUIET) --no-deps --no-build-isolation -e .
	@$(BIN)/python -m pip check
	@touch $(STAMP)

# node-zendesk for its contract tests (tests/contract), from the npm lock file, where npm is.
NODE_CONTRACT := tests/contract/node
NODE_STAMP := $(NODE_CONTRACT)/node_modules/.installed-stamp

$(NODE_STAMP): $(NODE_CONTRACT)/package.json $(NODE_CONTRACT)/package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --prefix $(NODE_CONTRACT) --no-audit --no-fund --silent && touch $(NODE_STAMP); \
	else \
	  echo "*** make: no npm: node-zendesk's contract tests (tests/contract) are SKIPPED."; \
	fi

install: $(STAMP) $(NODE_STAMP)

# Links in the demo's mail point at this server; its mail is kept at /admin/outbox unless
# CAREDESK_SMTP_HOST names a server (docs/email.md, "The development outbox").
BASE_URL ?= http://$(HOST):$(PORT)

demo: $(STAMP)
	$(BIN)/caredesk db upgrade
	$(BIN)/caredesk models prepare
	CAREDESK_BASE_URL="$${CAREDESK_BASE_URL:-$(BASE_URL)}" $(BIN)/caredesk demo load --host $(HOST) --port $(PORT)
	CAREDESK_BASE_URL="$${CAREDESK_BASE_URL:-$(BASE_URL)}" $(BIN)/caredesk serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy
	# The service tier's fakes stand for the Protocols of the units they fake: mypy checks it.
	$(BIN)/mypy --strict tests/service

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP) $(NODE_STAMP)
	@if [ ! -x "$${CAREDESK_CHROMIUM:-/usr/bin/chromium}" ]; then \
	  echo "*** make test: no chromium at $${CAREDESK_CHROMIUM:-/usr/bin/chromium}:" \
	       "the browser tests (tests/browser) are SKIPPED. Install it: apt-get install -y chromium"; \
	fi
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist $(PYTEST_DIST) --durations=15

# The edit loop: lint, types, import contracts, the unit and service tests (no database, no model).
unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit tests/service

test-fast: lockcheck lint typecheck imports unit

test: lockcheck lint typecheck imports pytest

# The README's and docs' screenshots, taken by the browser tests.
screenshots: $(STAMP)
	CAREDESK_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/browser

# The lock is written by pip-compile from a separate, itself locked, tools environment.
$(TOOLS)/.installed-stamp: requirements-tools.lock
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	@$(TOOLS)/bin/python -m pip install $(PIP_QUIET) --require-hashes -r requirements-tools.lock
	@touch $@

LOCK_FLAGS := --quiet --generate-hashes --all-extras --build-deps-for editable --strip-extras \
	--allow-unsafe --no-emit-find-links --no-emit-index-url --output-file $(LOCK)

# Refresh the lock after pyproject.toml changed, keeping every pin that still fits.
lock: $(TOOLS)/.installed-stamp
	$(TOOLS)/bin/pip-compile $(LOCK_FLAGS) pyproject.toml
	$(PYTHON) scripts/lockfile.py stamp $(LOCK)

# Move every pin to the newest release pyproject.toml allows.
lock-upgrade: $(TOOLS)/.installed-stamp
	$(TOOLS)/bin/pip-compile $(LOCK_FLAGS) --upgrade pyproject.toml
	$(PYTHON) scripts/lockfile.py stamp $(LOCK)

TAU ?= ../shared/datasets/tau-bench-retail
B77 ?= ../shared/datasets/banking77

# Long-running measurements; each script writes its own section of docs/benchmarks.md.
# About half an hour on a quiet 2-core machine (docs/benchmarks.md, *How long make bench takes*):
# the sizes below keep it there; each script's defaults are the fuller runs.
bench: $(STAMP)
	$(BIN)/caredesk models prepare
	$(BIN)/python bench/api.py --seconds 6 --write-docs
	$(BIN)/python bench/policy.py --write-docs
	$(BIN)/python bench/search.py --write-docs
	@if [ -f "$(B77)/train.csv" ]; then \
	  $(BIN)/python bench/triage.py --backend sqlite --train $(B77)/train.csv --write-docs; \
	else $(BIN)/python bench/triage.py --backend sqlite --write-docs; fi
	$(BIN)/python bench/mail.py --write-docs
	$(BIN)/python bench/sla.py --cases 20000 --write-docs
	$(BIN)/python bench/jobs.py --write-docs
	$(BIN)/python bench/console.py --write-docs
	$(BIN)/python bench/reports.py --write-docs
	$(BIN)/python bench/ratelimit.py --requests 10000 --redis redis://127.0.0.1:6379/0 --write-docs
	$(BIN)/python bench/scale.py --seconds 4 --write-docs
	$(BIN)/python bench/archive.py --write-docs
	$(BIN)/python bench/zendesk_import.py --write-docs
	@if [ -d "$(TAU)" ]; then \
	  $(BIN)/python bench/conformance.py --data $(TAU) \
	    --tasks $(TAU)/tasks_dev.json --expected $(TAU)/expected/tasks_dev.jsonl \
	    --tasks $(TAU)/tasks_train.json --expected $(TAU)/expected/tasks_train.jsonl --write-docs; \
	else echo "bench: $(TAU) not found; skipping the conformance replay"; fi

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
