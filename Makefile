# Two commands: `make run` and `make test`. Both set everything up on a fresh Debian/Ubuntu.
#
# PYTHON picks the interpreter (found on PATH or among pyenv's builds, scripts/find-python.sh);
# each one gets a venv of its own: `.venv` for the default python3, `.venv-3.13` for
# PYTHON=python3.13. TESTS narrows pytest's selection (default: the whole suite).
PYTHON ?= python3
ifeq ($(PYTHON),python3)
VENV   := .venv
else
VENV   := .venv-$(patsubst python%,%,$(notdir $(PYTHON)))
endif
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CONFIG := var/lgsp.toml
TESTS  ?=
# Besides the default: the interpreters `make test-pythons` runs, each with its selection.
OTHER_PYTHONS := python3.13=tests python3.12=tests/unit,tests/mocks

.PHONY: run test suite test-pythons lint types setup system-deps bench clean

run: setup
	$(BIN)/lgsp dev

# Lint, types, then the suite on $(PYTHON).
test: lint types suite

# Only the suite (TESTS, default all of it) on $(PYTHON), in that interpreter's own venv.
suite: setup
	scripts/system-deps.sh broker browser bench
	$(BIN)/pytest $(TESTS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: setup
	$(BIN)/mypy

# The suite on every interpreter of OTHER_PYTHONS this machine has; those it lacks are skipped.
test-pythons:
	scripts/test-pythons.sh $(OTHER_PYTHONS)

bench: setup
	scripts/system-deps.sh broker bench
	$(BIN)/python -m bench

setup: system-deps $(STAMP) $(CONFIG)

system-deps:
	scripts/system-deps.sh broker

$(STAMP): pyproject.toml
	interpreter=$$(scripts/find-python.sh $(PYTHON)) && "$$interpreter" -m venv $(VENV)
	$(BIN)/pip install -q --upgrade 'pip>=25.1'
	$(BIN)/pip install -q -e . --group dev
	touch $(STAMP)

$(CONFIG): | $(STAMP)
	$(BIN)/lgsp init

clean:
	rm -rf .venv .venv-* var .mypy_cache .ruff_cache .pytest_cache
