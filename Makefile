# cellserve — one target per habit. Everything installs into .venv (and .venv-bundle) here.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUNDLE_ENV := .venv-bundle
INSTALLED := $(VENV)/.installed
BUNDLE_INSTALLED := $(BUNDLE_ENV)/.installed
PORT ?= 8888
# JupyterLab refuses to run as root unless told to (containers, CI machines).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

JLPM := $(CURDIR)/$(VENV)/bin/jlpm
LABEXT := extension/labextension/package.json
LABEXT_SOURCES := $(shell find extension/src extension/style extension/schema -type f 2>/dev/null)

.PHONY: install extension system run test test-shuffled soak test-fast lint format bench wheel clean

install: $(INSTALLED)

## make extension: the JupyterLab sidebar (built with jlpm) and the server extension, enabled in .venv
extension: $(LABEXT)
	mkdir -p $(VENV)/share/jupyter/labextensions $(VENV)/etc/jupyter/jupyter_server_config.d
	rm -rf $(VENV)/share/jupyter/labextensions/cellserve-jupyterlab  # a copy an install left, or an old link
	ln -sfn $(CURDIR)/extension/labextension $(VENV)/share/jupyter/labextensions/cellserve-jupyterlab
	cp extension/jupyter-config/cellserve.json $(VENV)/etc/jupyter/jupyter_server_config.d/cellserve.json

$(LABEXT): $(INSTALLED) package.json yarn.lock $(LABEXT_SOURCES)
	$(JLPM) install --immutable && $(JLPM) build
	touch $@

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[examples,dev]"
	touch $@

# The environment the test cluster runs in: the same packages, but cellserve cannot be imported,
# as on a user's Ray cluster.
$(BUNDLE_INSTALLED): $(INSTALLED) tools/make_bundle_env.sh
	bash tools/make_bundle_env.sh $(VENV) $(BUNDLE_ENV)
	touch $@

## make run: JupyterLab with cellserve on examples/
run: install extension
	$(VENV)/bin/jupyter lab --notebook-dir=examples --port=$(PORT) --ServerApp.open_browser=False $(ROOT_FLAG)

## system: a Docker engine and debootstrap for the image tests (installed with apt when missing)
system:
	bash tools/setup_system.sh

## make test: every test, against a real Jupyter kernel, a real Ray cluster, a real Docker engine,
## a real JupyterLab and real Chromium; then the extension's own (jest) tests
test: $(BUNDLE_INSTALLED) extension system
	$(JLPM) test
	$(PY) -m pytest -p no:randomly -m "not soak" --durations=20

## make test-shuffled: every test of `make test`, in a random order (modules shuffled, and the tests within
## each); the seed is printed: `SEED=N make test-shuffled` runs that order again
test-shuffled: $(BUNDLE_INSTALLED) extension system
	$(PY) -m pytest -p randomly $(if $(SEED),--randomly-seed=$(SEED),) -m "not soak" --durations=20

## make soak: 20,000 requests at concurrency 32 against a published example, and a replica killed (of two deployments, and of one)
## during a load (bounded in requests and time, loopback only); figures in test-artifacts/soak.json
soak: $(BUNDLE_INSTALLED) system
	$(PY) -m pytest -p no:randomly -m soak -s

## make test-fast: the tests that need no kernel, no cluster and no browser
test-fast: install
	$(PY) -m pytest -p no:randomly -m "not kernel and not ray and not browser"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	bash tools/typecheck.sh
	$(JLPM) lint:check

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	bash tools/setup_bench.sh
	$(PY) bench/bench_convert.py
	$(PY) bench/bench_publish.py
	$(PY) bench/bench_trials.py
	$(PY) bench/bench_service.py
	$(PY) bench/bench_serving.py

## make wheel: dist/cellserve-*.whl and the sdist, with the production build of the sidebar inside
wheel: $(INSTALLED)
	$(JLPM) install --immutable && $(JLPM) build:prod
	rm -rf dist build
	$(PY) -m pip wheel --no-deps --quiet -w dist .
	$(JLPM) build  # back to the development build that make extension links

clean:
	rm -rf $(VENV) $(BUNDLE_ENV) .pytest_cache .mypy_cache .ruff_cache
	rm -rf node_modules .yarn extension/lib extension/labextension tsconfig.tsbuildinfo
