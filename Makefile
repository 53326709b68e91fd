# Two commands do all set-up on a fresh machine:
#   make run   install, migrate, load demo data (accounts and sample cases in every state; EMPTY=1: accounts
#              only), serve http://127.0.0.1:5000 with the timer scheduler
#   make test  install what the tests need and pass every test on SQLite, then on PostgreSQL, then the unit
#              and integration tests again on SQLite at fixed moments under faketime (test-faketime)
# Both first run `frontend`: npm ci from package-lock.json (only when the lock is newer than node_modules), then
# bpmn-js and dmn-js (viewer and modeler bundles, CSS, fonts) and pdf.js (pdfjs-dist: the library and its worker,
# for the in-page PDF viewer of the case pages) are copied into app/web/static/vendor/ — served by the app itself,
# no CDN, so diagrams and materials open on an intranet.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app
# Debian packages: chromium for browser tests, poppler-utils to read PDFs in tests, a CJK font to view them,
# zbar-tools to decode the QR codes of the PDFs, faketime to run the suite at other dates.
APT_PACKAGES := chromium poppler-utils fonts-wqy-zenhei zbar-tools faketime
# Moments (UTC, '_' for the space) at which test-faketime runs the unit and integration tests:
#   2026-12-31 15:30  23:30 on 31 December in Beijing: the last half hour of a year
#   2027-02-08 02:00  Monday of 春节 week 2027, a year whose holidays the platform has not loaded (the seed holds
#                     2004–2026, from the installed chinesecalendar): working days fall back to Mon–Fri
#   2027-12-31 20:00  04:00 on 1 January 2028 in Beijing while UTC still says 2027
#   2028-02-29 02:00  a leap day: two and three years on have no 29 February
FAKETIME_MOMENTS := 2026-12-31_15:30:00 2027-02-08_02:00:00 2027-12-31_20:00:00 2028-02-29_02:00:00
# libfaketime 0.9.10 (Debian 12) with Python 3.11: by default it fakes the monotonic clock too, and a timed wait
# (Event.wait(t), Lock.acquire(timeout=t)) then blocks for ever; FAKETIME_DONT_FAKE_MONOTONIC=1 instead makes
# time.sleep() fail with EINVAL. The unit and integration tests on SQLite do neither, so the default stays, and
# `timeout` stops a run that hangs long before CI's limit (a run takes a few minutes).
FAKETIME_RUN_LIMIT := 1200
# npm ci runs when package.json or package-lock.json is newer than this stamp; vendor/ is generated (gitignored).
NODE_STAMP := node_modules/.installed
VENDOR := app/web/static/vendor

.PHONY: run test venv frontend system-deps lint test-sqlite test-postgres test-faketime bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The dist bundles are self-contained (no bundler needed to view or model); assets/ holds their CSS and fonts.
$(VENDOR)/.copied: $(NODE_STAMP)
	rm -rf $(VENDOR)
	mkdir -p $(VENDOR)/bpmn-js $(VENDOR)/dmn-js
	cp node_modules/bpmn-js/dist/bpmn-viewer.production.min.js node_modules/bpmn-js/dist/bpmn-modeler.production.min.js \
	  $(VENDOR)/bpmn-js/
	cp -r node_modules/bpmn-js/dist/assets $(VENDOR)/bpmn-js/
	cp node_modules/dmn-js/dist/dmn-viewer.production.min.js node_modules/dmn-js/dist/dmn-modeler.production.min.js \
	  $(VENDOR)/dmn-js/
	cp -r node_modules/dmn-js/dist/assets $(VENDOR)/dmn-js/
	mkdir -p $(VENDOR)/pdfjs
	cp node_modules/pdfjs-dist/build/pdf.min.mjs node_modules/pdfjs-dist/build/pdf.worker.min.mjs \
	  node_modules/pdfjs-dist/LICENSE $(VENDOR)/pdfjs/
	cp -r node_modules/pdfjs-dist/cmaps node_modules/pdfjs-dist/standard_fonts $(VENDOR)/pdfjs/
	touch $@

# The studio's designer pages (bpmn-js modeler + our properties panel, dmn-js, bpmn-js-differ), bundled from
# app/web/frontend/studio/ by esbuild into app/web/static/build/ (generated, gitignored).
STUDIO_SOURCES := $(wildcard app/web/frontend/studio/*)
BUILD := app/web/static/build
$(BUILD)/.built: $(NODE_STAMP) $(STUDIO_SOURCES)
	rm -rf $(BUILD)
	node_modules/.bin/esbuild app/web/frontend/studio/bpmn.js app/web/frontend/studio/dmn.js --bundle --minify \
	  --format=esm --splitting --chunk-names=chunks/[name]-[hash] \
	  --jsx=automatic --jsx-import-source=@bpmn-io/properties-panel/preact --loader:.js=jsx \
	  --loader:.woff=file --loader:.woff2=file --loader:.ttf=file --loader:.eot=file --loader:.svg=file \
	  --outdir=$(BUILD) --entry-names=studio-[name] --asset-names=fonts/[name]-[hash] --log-level=warning
	node_modules/.bin/esbuild app/web/frontend/studio/form.js --bundle --minify --format=iife \
	  --outdir=$(BUILD) --entry-names=studio-[name] --log-level=warning
	touch $@

frontend: $(VENDOR)/.copied $(BUILD)/.built

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# `make run` seeds demo accounts and sample cases in every state (app/seed/samples.py; skipped once made);
# `make run EMPTY=1` seeds the accounts only: empty project and 待办 lists (on a new database: samples already
# made stay; remove var/app.sqlite first).
run: venv frontend
	mkdir -p var
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo $(if $(EMPTY),--empty)
	SCHEDULER_ENABLED=1 $(BIN)/flask run --host 127.0.0.1 --port 5000 --no-reload --with-threads

# ruff, then the architecture: import-linter's contracts in pyproject.toml (layers, a pure domain and engine,
# no cycles among the use-case modules).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

test-sqlite: venv frontend
	TEST_DB=sqlite $(BIN)/pytest -q -p no:cacheprovider

test-postgres: venv frontend
	TEST_DB=postgres $(BIN)/pytest -q -p no:cacheprovider

# The platform must work on any date: libfaketime moves the process's clock (Python's and SQLite's; the
# PostgreSQL server's would not move, so these runs use SQLite). Tests that reason about dates pin the
# platform clock themselves; the rest run at the faked date. TZ=UTC: the moments above are UTC.
test-faketime: venv system-deps
	@for moment in $(FAKETIME_MOMENTS); do \
	  when="$${moment/_/ }"; began=$$(date +%s); \
	  echo "== unit and integration tests on SQLite at $$when UTC (faketime)"; \
	  TZ=UTC timeout $(FAKETIME_RUN_LIMIT) faketime -f "@$$when" env TEST_DB=sqlite \
	    $(BIN)/pytest -q -p no:cacheprovider tests/unit tests/integration || exit 1; \
	  echo "== $$when UTC: $$(( $$(date +%s) - began )) s"; \
	done

test: venv frontend system-deps lint test-sqlite test-postgres test-faketime

bench: venv
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) var node_modules $(VENDOR)
