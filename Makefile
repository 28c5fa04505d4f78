# The course's commands. `make lab` and `make test` are the two a newcomer needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LESSON_SOURCES := $(wildcard lessons/[0-9][0-9]-*.md)
NOTEBOOKS := $(patsubst lessons/%.md,notebooks/%.ipynb,$(LESSON_SOURCES))
BUNDLE ?= dockernet-lab.tar.gz
# JupyterLab refuses to start as root unless told; CI and containers run as root.
JUPYTER_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test test-browser image image-bundle notebooks student-copy clean bench \
	bench-classroom bench-series doctor test-hub \
	engine engine-image engine-stop test-engines html

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ is needed, found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

doctor: setup
	$(PY) -m dockernet doctor

image: setup
	$(PY) -m dockernet image

lab: setup
	$(PY) -m dockernet doctor --quiet
	$(PY) -m dockernet image
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(JUPYTER_ROOT)

test: setup
	$(PY) -m pytest

# Every lesson in JupyterLab in Debian's chromium (part of `make test` too).
test-browser: setup
	$(PY) -m pytest tests/browser

# Contributors: the suite again on a current engine (Debian sid's Docker 28, Docker-in-Docker).
# `make engine` builds it from Debian's mirror (root, debootstrap) and prints its DOCKER_HOST.
ENGINE_HOST = $(shell $(PY) -c 'from dockernet import testengine; print(testengine.docker_host())' 2>/dev/null)

engine: image
	$(PY) -m dockernet test-engine start

# Only the engine's image: lesson 10's simulated Docker hosts run it too (root, debootstrap).
engine-image: setup
	$(PY) -m dockernet test-engine build

engine-stop: setup
	$(PY) -m dockernet test-engine stop

# The daemon-gone test stops and restarts the engine through the host's daemon: it is told where.
test-engines: engine
	DOCKERNET_TEST_ENGINE=1 DOCKERNET_OUTER_DOCKER_HOST=$${DOCKER_HOST:-unix:///var/run/docker.sock} \
	DOCKER_HOST=$(ENGINE_HOST) $(PY) -m pytest tests/integration tests/notebooks helpers/dockernet

# The JupyterHub classroom (classroom/): three learners run lesson 02 at once through a real hub,
# then two of them on two engines (the host's and the test engine). About 3 minutes.
test-hub: engine
	bash .ci/install-hub
	$(PY) tests/hub/run_hub_test.py

bench: setup
	$(PY) bench/run.py

# A classroom on this daemon (DOCKER_HOST): LEARNERS kernels run each of LESSONS at once,
# as learners CLASSROOM_PREFIX00..NN (pick a prefix no real learner id starts with).
LEARNERS ?= 30
LESSONS ?= 01,02
CLASSROOM_PREFIX ?= classroom
bench-classroom: setup
	$(PY) bench/classroom.py --learners $(LEARNERS) --lessons $(LESSONS) --prefix $(CLASSROOM_PREFIX)

# The whole series headless as one learner, PARALLEL lessons at a time: each lesson's time and
# the wall time (the course's budget: under 4 minutes on 2 cores once the images exist).
PARALLEL ?= 3
bench-series: setup
	$(PY) bench/series.py --parallel $(PARALLEL)

notebooks: setup $(NOTEBOOKS)

# --update keeps the cell ids of the committed notebook, so a one-line edit is a one-line diff.
notebooks/%.ipynb: lessons/%.md
	$(VENV)/bin/jupytext --to ipynb $(if $(wildcard $@),--update) --output $@ $<

image-bundle: image
	$(PY) -m dockernet bundle $(BUNDLE)

# A rendered copy with every output (git-ignored): instructors prepare with it.
html: setup
	$(PY) -m dockernet render notebooks build/html

student-copy: setup
	$(PY) -m dockernet student-copy notebooks student-notebooks

clean: setup
	$(PY) -m dockernet clean
