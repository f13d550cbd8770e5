# The two commands: `make run` (set up, migrate, deploy, serve) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export CADREFLOW_DATABASE_URL ?= sqlite:///$(CURDIR)/instance/cadreflow.db

TRANSLATIONS := server/ui/translations
MO_FILES := $(patsubst %.po,%.mo,$(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po))

.PHONY: setup run test bench lint format messages clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The BPMN editor's properties panel and lint (server/ui/panel/) bundled with their npm
# packages; the output is git-ignored and served as static/build/properties.js and .css,
# and static/build/lint.js (bpmnlint's rules and cadreflow's).
PANEL := server/ui/static/build/properties.js
LINT := server/ui/static/build/lint.js
$(PANEL) $(LINT): server/ui/static/build/%.js: node_modules/.installed $(wildcard server/ui/panel/*.js)
	node_modules/.bin/esbuild server/ui/panel/$*.js --bundle --minify --format=iife \
		--target=es2019 --log-level=warning --outfile=$@

# The pages' translations (.po in git, .mo built here).
$(TRANSLATIONS)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/%/LC_MESSAGES/messages.po $(BIN)/.installed
	$(BIN)/pybabel -q compile -l $* -i $< -o $@

# Browser tests drive Debian's chromium, in its headless-shell form (no browser download); CJK
# fonts for readable screenshots.
.stamp-browser:
	command -v chromium >/dev/null && test -x /usr/lib/chromium/chromium-headless-shell && \
		fc-list :lang=zh | grep -q . || (apt-get update -qq && \
		apt-get install -y -qq chromium chromium-headless-shell fonts-wqy-microhei)
	touch $@

# Official documents (公文): LibreOffice converts the rendered DOCX to PDF, kept running per
# process and driven over UNO (python3-uno, for Debian's /usr/bin/python3); Noto CJK (宋/黑) and
# AR PL UKai (楷, the 仿宋 substitute) are the fonts embedded; poppler's pdffonts checks them.
.stamp-office:
	command -v soffice >/dev/null && command -v pdffonts >/dev/null && fc-list | grep -q ukai && \
		fc-list | grep -q 'Noto Serif CJK' && /usr/bin/python3 -c 'import uno' 2>/dev/null || \
		(apt-get update -qq && apt-get install -y -qq --no-install-recommends \
			libreoffice-writer-nogui fonts-noto-cjk fonts-arphic-ukai poppler-utils python3-uno)
	touch $@

setup: $(BIN)/.installed node_modules/.installed $(PANEL) $(LINT) $(MO_FILES)

run: setup .stamp-office
	mkdir -p instance
	$(BIN)/cadreflow db upgrade
	$(BIN)/cadreflow deploy bpmn/
	$(BIN)/cadreflow demo load
	$(BIN)/cadreflow serve --host 127.0.0.1 --port $(PORT)

# One pytest worker per core (pytest-xdist); each worker has its own PostgreSQL database,
# SQLite template and worlds. `make test PYTEST_ARGS="-n 0"` runs in one process.
# Python keeps compiled modules (and pytest its assertion-rewritten tests) for the run even
# where the machine sets PYTHONDONTWRITEBYTECODE: every pytest worker and every process a test
# starts (races, the CLI) would otherwise compile the code again (4-5 s of each worker's
# collection, 0.4 s per process). __pycache__ is git-ignored.
test: setup .stamp-browser .stamp-office
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m compileall -q workflows server tests bench
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -q -ra -n auto --dist worksteal $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/engine_floor.py
	$(BIN)/python bench/api_complete.py

lint: setup
	$(BIN)/ruff format --check workflows server tests bench
	$(BIN)/ruff check workflows server tests bench
	$(BIN)/mypy workflows server

format: setup
	$(BIN)/ruff format workflows server tests bench

# After changing texts in server/ui: refresh the catalogs, then translate the new entries.
messages: setup
	$(BIN)/pybabel -q extract -F server/ui/babel.cfg -k _l -o $(TRANSLATIONS)/messages.pot \
		--no-location --omit-header .
	$(BIN)/pybabel -q update -N -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -w 100

clean:
	rm -rf $(VENV) instance node_modules .stamp-browser .stamp-office $(MO_FILES) server/ui/static/build
