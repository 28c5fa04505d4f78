# The course's commands. `make lab` and `make test` are the two a newcomer needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LESSONS := $(wildcard lessons/[0-9][0-9]-*.md)
NOTEBOOKS := $(patsubst lessons/%.md,notebooks/%.ipynb,$(LESSONS))
BUNDLE ?= dockernet-lab.tar.gz
# JupyterLab refuses to start as root unless told; CI and containers run as root.
JUPYTER_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test image image-bundle notebooks student-copy clean bench doctor

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

bench: setup
	$(PY) bench/run.py

notebooks: setup $(NOTEBOOKS)

# --update keeps the cell ids of the committed notebook, so a one-line edit is a one-line diff.
notebooks/%.ipynb: lessons/%.md
	$(VENV)/bin/jupytext --to ipynb $(if $(wildcard $@),--update) --output $@ $<

image-bundle: image
	$(PY) -m dockernet bundle $(BUNDLE)

student-copy: setup
	$(PY) -m dockernet student-copy notebooks student-notebooks

clean: setup
	$(PY) -m dockernet clean
