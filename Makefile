# TrulyBot: `make run` starts the demo stack, `make test` runs the whole suite.
# Both set up the virtual environment and train the model on first use.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.trulybot-installed
# Platform plugins shipped in this repository as separate packages, installed next to TrulyBot.
PLUGIN_PACKAGES := packages/trulybot-bigcommerce examples/trulybot-csvstore
ARGS ?=

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONDONTWRITEBYTECODE := 1

AXE_VERSION := 4.10.2
AXE := var/node/node_modules/axe-core/axe.min.js

.PHONY: setup run test train bench eval clean lock mutate axe

setup: $(STAMP)

# The venv is rebuilt only when the lock file or the project (or a plugin package's) metadata change.
$(STAMP): requirements.lock requirements-nodeps.lock pyproject.toml $(addsuffix /pyproject.toml,$(PLUGIN_PACKAGES))
	@python310=$$(scripts/find-python310) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then \
		echo "Creating $(VENV) with $$python310"; rm -rf $(VENV); \
		"$$python310" -m venv $(VENV) || exit 1; \
	fi
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation $(addprefix -e ,$(PLUGIN_PACKAGES))
	@touch $(STAMP)

train: $(STAMP)
	$(VENV)/bin/trulybot train

run: train
	$(VENV)/bin/trulybot up $(ARGS)

test: train
	$(PY) -m pytest $(ARGS)

bench: train
	$(PY) -m bench $(ARGS)

# Mutation testing of the security-critical modules (slow; not part of `make test`).
# ARGS names modules to limit the run, e.g. make mutate ARGS=bot/api/validation.py
mutate: $(STAMP)
	$(PY) scripts/mutate.py $(ARGS)

# NLU evaluation protocol (docs/nlu-evaluation.md): leave-one-source-out, k-fold and the blind set,
# for config.yml and the stock DIET pipeline. ARGS="--quick" runs one k-fold fold.
eval: $(STAMP)
	nice -n 10 $(PY) -m tests.nlu.protocol $(ARGS)

# axe-core (npm) for the accessibility audit inside the browser tests; gitignored under var/.
axe: $(AXE)

$(AXE):
	npm install --prefix var/node --no-save --no-audit --no-fund --silent axe-core@$(AXE_VERSION)

# Re-resolve and pin every transitive dependency (needs the package index).
lock: $(STAMP)
	$(PY) -m pip install --quiet -e '.[test]'
	(echo "# Every transitive dependency of trulybot, pinned. Regenerate with 'make lock' (Python 3.10)."; \
	 echo "# Install: pip install -r requirements.lock && pip install --no-deps -r requirements-nodeps.lock && pip install --no-deps -e ."; \
	 $(PY) -m pip freeze --all --exclude-editable | grep -v -E '^(-e|pip==)' \
	   | grep -v -i -F -f <(grep -v '^#' requirements-nodeps.lock | sed 's/==.*/==/')) > requirements.lock

clean:
	rm -rf $(VENV) models var .pytest_cache bench/results .mutmut-cache html
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
