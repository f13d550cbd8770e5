# The two commands: `make run` (set up, migrate, deploy, serve) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export CADREFLOW_DATABASE_URL ?= sqlite:///$(CURDIR)/instance/cadreflow.db

.PHONY: setup run test bench lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(BIN)/.installed node_modules/.installed

run: setup
	mkdir -p instance
	$(BIN)/cadreflow db upgrade
	$(BIN)/cadreflow deploy bpmn/
	$(BIN)/cadreflow demo load
	$(BIN)/cadreflow serve --host 127.0.0.1 --port $(PORT)

test: setup
	$(BIN)/pytest -q -ra $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/engine_floor.py

lint: setup
	$(BIN)/ruff check workflows server tests bench
	$(BIN)/mypy workflows server

clean:
	rm -rf $(VENV) instance node_modules
