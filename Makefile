# Two commands: `make run` and `make test`. Both set everything up on a fresh Debian/Ubuntu.
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CONFIG := var/lgsp.toml

.PHONY: run test lint types unit setup system-deps bench clean cluster

run: setup
	$(BIN)/lgsp dev

# Three joined RabbitMQ nodes on 127.0.0.1 (5682-5684), in the foreground until Ctrl-C.
cluster: setup
	$(BIN)/lgsp broker run --nodes 3

test: setup
	scripts/system-deps.sh broker browser bench
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: setup
	scripts/system-deps.sh broker bench
	$(BIN)/python -m bench

setup: system-deps $(STAMP) $(CONFIG)

system-deps:
	scripts/system-deps.sh broker

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade 'pip>=25.1'
	$(BIN)/pip install -q -e . --group dev
	touch $(STAMP)

$(CONFIG): | $(STAMP)
	$(BIN)/lgsp init

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
