# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1

.PHONY: run test chromium venv install install-dev interop-venv migrate lint format schema check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements/base.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/base.txt
	touch $@

$(VENV)/.installed-dev: requirements/base.txt requirements/dev.txt requirements/ical-check.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -r requirements/ical-check.txt
	touch $(VENV)/.installed $@

# The CalDAV clients the interop tests drive (caldav, vdirsyncer), in a virtualenv of their own: their
# dependencies would replace ours (requirements/interop.txt says which).
INTEROP_VENV ?= .venv-interop
$(INTEROP_VENV)/.installed: requirements/interop.txt
	$(PYTHON) -m venv $(INTEROP_VENV) || python3 -m venv $(INTEROP_VENV)
	$(INTEROP_VENV)/bin/pip install --quiet -r requirements/interop.txt
	touch $@

interop-venv: $(INTEROP_VENV)/.installed

venv: $(BIN)/python
install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/python manage.py migrate --noinput

## Serve HTTP and WebSocket on ASGI at http://$(HOST):$(PORT) (make run PORT=9000)
run: migrate
	$(BIN)/python -m uvicorn config.asgi:application --host $(HOST) --port $(PORT) --workers $(WORKERS) --lifespan off

## The whole suite, on whatever DATABASE_URL / REDIS_URL say (nothing: SQLite and memory)
test: install-dev chromium interop-venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Debian's Chromium for the browser test (tests/browser); nothing to do when it is there
chromium:
	.ci/chromium

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: install-dev
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

check: install-dev
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(MAKE) schema lint

clean:
	rm -rf $(VENV) $(INTEROP_VENV) .pytest_cache db.sqlite3
