# Two commands do all set-up on a fresh machine:
#   make run   install, migrate, load demo data, serve http://127.0.0.1:5000 with the timer scheduler
#   make test  install what the tests need and pass every test on SQLite, then on PostgreSQL
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app
# Debian packages: chromium for browser tests, poppler-utils to read PDFs in tests, a CJK font to view them.
APT_PACKAGES := chromium poppler-utils fonts-wqy-zenhei

.PHONY: run test venv system-deps lint test-sqlite test-postgres bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

run: venv
	mkdir -p var
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	SCHEDULER_ENABLED=1 $(BIN)/flask run --host 127.0.0.1 --port 5000 --no-reload --with-threads

lint: venv
	$(BIN)/ruff check .

test-sqlite: venv
	TEST_DB=sqlite $(BIN)/pytest -q -p no:cacheprovider

test-postgres: venv
	TEST_DB=postgres $(BIN)/pytest -q -p no:cacheprovider

test: venv system-deps lint test-sqlite test-postgres

bench: venv
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) var
