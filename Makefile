# Two commands for a newcomer: `make run` and `make test`. Everything installs into .venv/.
# Each target installs only the locked set it needs (README, "Installing"):
#   requirements/runtime.txt - the service (`make run`, the Docker image)
#   requirements/lint.txt    - `make lint` and the security scans (runtime + lint extra: mypy loads the apps)
#   requirements/test.txt    - `make test`: the suite and lint (test, browser, deploy-checks, lint extras)
#   requirements/dev.txt     - everything, with the bench extra (`make install`, bench, soak)
# The locks carry hashes (pip --require-hashes) for Python 3.11 on Linux; `make lock` remakes them.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PIP_VERSION := 26.3
# The lock tool, pinned: https://docs.astral.sh/uv/ (uv pip compile).
UV_VERSION := 0.13.9
LOCK_FLAGS := --generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
	--custom-compile-command "make lock" --quiet
LOCK_ARGS ?=

.PHONY: run test lint format install install-run install-lint install-test clean lock help

help:
	@echo "make run    - install the runtime set into .venv/ and start the service on http://127.0.0.1:8000 (embedded mode, demo data)"
	@echo "make test   - install the test set, lint, run the suite on SQLite (and PostgreSQL + Redis when DATABASE_URL/REDIS_URL are set)"
	@echo "make lint   - ruff, ruff format --check, mypy"
	@echo "make install - everything a contributor uses (requirements/dev.txt)"
	@echo "make lock   - regenerate requirements/{runtime,lint,test,dev}.txt (LOCK_ARGS=--upgrade to move to current releases)"
	@echo "make bench  - the performance benchmark against the production processes (ARGS=--quick for a short run)"
	@echo "make soak   - 2 minutes of mixed traffic at 64 connections while draws close; zero errors, nothing lost"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "pip==$(PIP_VERSION)"

# One stamp per locked set: the locked packages (hashes checked), then the project itself
# without dependencies, so nothing outside the lock is installed.
$(VENV)/.installed-%: requirements/%.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/$*.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

install-run: $(VENV)/.installed-runtime
install-lint: $(VENV)/.installed-lint
install-test: $(VENV)/.installed-test
install: $(VENV)/.installed-dev

run: install-run
	$(BIN)/lottery serve

lint: install-lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=. $(BIN)/mypy

format: install-lint
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install-test lint
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

# dev first, then the smaller sets constrained by it: one version of each package in all four.
lock: | $(BIN)/python
	$(BIN)/pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) $(LOCK_ARGS) -o requirements/dev.txt
	$(BIN)/uv pip compile pyproject.toml --extra test --extra browser --extra deploy-checks --extra lint \
		-c requirements/dev.txt $(LOCK_FLAGS) -o requirements/test.txt
	$(BIN)/uv pip compile pyproject.toml --extra lint -c requirements/dev.txt $(LOCK_FLAGS) -o requirements/lint.txt
	$(BIN)/uv pip compile pyproject.toml -c requirements/dev.txt $(LOCK_FLAGS) -o requirements/runtime.txt

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage coverage.json

.PHONY: screenshots
screenshots: install  ## capture the main pages (desktop 1280 px, phone 360 px) into docs/screenshots/
	PYTHONPATH=. $(BIN)/python scripts/screenshots.py --out docs/screenshots

# Long schemathesis run (P6): every API operation, anonymous and signed in, plus stateful
# links; `make test` runs the same tests bounded to 25 examples per operation.
FUZZ_EXAMPLES ?= 500
.PHONY: fuzz
fuzz: install-test  ## long schemathesis run against the OpenAPI schema (FUZZ_EXAMPLES per operation)
	SCHEMATHESIS_MAX_EXAMPLES=$(FUZZ_EXAMPLES) PYTHONPATH=. $(BIN)/pytest -p no:cacheprovider -q \
		tests/hostile/test_schemathesis.py $(ARGS)
