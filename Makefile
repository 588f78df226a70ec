# Two commands for a newcomer: `make run` and `make test`. Everything installs into .venv/.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format install clean lock help

help:
	@echo "make run    - install into .venv/ and start the service on http://127.0.0.1:8000 (embedded mode, demo data)"
	@echo "make test   - install, lint, run the suite on SQLite (and PostgreSQL + Redis when DATABASE_URL/REDIS_URL are set)"
	@echo "make lint   - ruff, ruff format --check, mypy"
	@echo "make lock   - refresh requirements/constraints.txt from the current .venv"
	@echo "make bench  - the performance benchmark against the production processes (ARGS=--quick for a short run)"
	@echo "make soak   - 2 minutes of mixed traffic at 64 connections while draws close; zero errors, nothing lost"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24,<27"

$(STAMP): $(BIN)/python pyproject.toml requirements/constraints.txt
	$(BIN)/pip install --quiet -c requirements/constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/lottery serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=. $(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install lint
	@scripts/test.sh

# The P5 benchmark (bench/README.md), on PostgreSQL (BENCH_DATABASE_URL) and Redis db 12 (flushed).
# wrk and pgbench come from Debian when missing. ARGS=--quick: short runs; ARGS=--huge: 10M ballots too.
.PHONY: bench
bench: install
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y wrk; }
	@ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1 || command -v pgbench >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y postgresql-contrib; }
	PYTHONPATH=. $(BIN)/python bench/run.py $(ARGS)

# The P6 soak (bench/soak.py): gunicorn + Celery worker + beat on PostgreSQL (SOAK_DATABASE_URL or
# DATABASE_URL) and Redis db 13 (SOAK_REDIS_URL; flushed), mixed traffic while draws close.
# Not part of `make test`. ARGS="--duration 600 --connections 128" for a longer, wider run.
.PHONY: soak
soak: install
	PYTHONPATH=. $(BIN)/python bench/soak.py $(ARGS)

lock: install
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e ' > requirements/constraints.txt

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage coverage.json

.PHONY: screenshots
screenshots: install  ## capture the main pages (desktop 1280 px, phone 360 px) into docs/screenshots/
	PYTHONPATH=. $(BIN)/python scripts/screenshots.py --out docs/screenshots

# Long schemathesis run (P6): every API operation, anonymous and signed in, plus stateful
# links; `make test` runs the same tests bounded to 25 examples per operation.
FUZZ_EXAMPLES ?= 500
.PHONY: fuzz
fuzz: install  ## long schemathesis run against the OpenAPI schema (FUZZ_EXAMPLES per operation)
	SCHEMATHESIS_MAX_EXAMPLES=$(FUZZ_EXAMPLES) PYTHONPATH=. $(BIN)/pytest -p no:cacheprovider -q \
		tests/hostile/test_schemathesis.py $(ARGS)
