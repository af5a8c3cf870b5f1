# Two commands: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
KB      = $(VENV)/bin/kb
STAMP   = $(VENV)/.installed
export GRADIO_ANALYTICS_ENABLED = False
export HF_HUB_OFFLINE = 1
export TRANSFORMERS_OFFLINE = 1

.PHONY: setup run test lint bench corpus clean

setup: $(STAMP)

# torch==2.13.0 first: it is the local CPU build; anything that pulls torch later finds it
# satisfied instead of downloading a multi-gigabyte CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(KB) ingest corpus --quiet
	$(KB) serve

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check kb ingest index ui tests bench corpus/tools

# Until the full benchmark suite exists: ask/retrieval latency on the shipped corpus.
bench: setup
	KB_HOME=.kb-bench $(KB) ingest corpus --quiet
	KB_HOME=.kb-bench $(PY) bench/ask_latency.py

corpus: setup
	$(PY) corpus/tools/build_pdfs.py
	$(PY) corpus/tools/export_csv.py

clean:
	rm -rf $(VENV) .kb .pytest_cache
