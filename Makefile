# caredesk: `make demo` serves the demo store, `make test` runs the whole check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test lint typecheck imports pytest bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/caredesk db upgrade
	$(BIN)/caredesk demo load
	$(BIN)/caredesk serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	@if [ ! -x "$${CAREDESK_CHROMIUM:-/usr/bin/chromium}" ]; then \
	  echo "*** make test: no chromium at $${CAREDESK_CHROMIUM:-/usr/bin/chromium}:" \
	       "the browser tests (tests/browser) are SKIPPED. Install it: apt-get install -y chromium"; \
	fi
	$(BIN)/python -m pytest -q

test: lint typecheck imports pytest

TAU ?= ../shared/datasets/tau-bench-retail
B77 ?= ../shared/datasets/banking77

# Long-running measurements; each script writes its own section of docs/benchmarks.md.
bench: $(STAMP)
	$(BIN)/python bench/api.py --write-docs
	$(BIN)/python bench/policy.py --write-docs
	$(BIN)/python bench/search.py --write-docs
	@if [ -f "$(B77)/train.csv" ]; then \
	  $(BIN)/python bench/triage.py --train $(B77)/train.csv --write-docs; \
	else $(BIN)/python bench/triage.py --write-docs; fi
	$(BIN)/python bench/mail.py --write-docs
	$(BIN)/python bench/sla.py --write-docs
	$(BIN)/python bench/jobs.py --write-docs
	$(BIN)/python bench/console.py --write-docs
	@if [ -d "$(TAU)" ]; then \
	  $(BIN)/python bench/conformance.py --data $(TAU) \
	    --tasks $(TAU)/tasks_dev.json --expected $(TAU)/expected/tasks_dev.jsonl \
	    --tasks $(TAU)/tasks_train.json --expected $(TAU)/expected/tasks_train.jsonl --write-docs; \
	else echo "bench: $(TAU) not found; skipping the conformance replay"; fi

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
