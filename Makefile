# Two commands: `make run` and `make test` (`make test-fast` for the development loop).
# Each sets everything up first.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
KB      = $(VENV)/bin/kb
STAMP   = $(VENV)/.installed
export GRADIO_ANALYTICS_ENABLED = False
export HF_HUB_OFFLINE = 1
export TRANSFORMERS_OFFLINE = 1

.PHONY: setup tesseract run test test-fast lint bench bench-scale corpus clean screenshots

setup: tesseract $(STAMP)

# torch==2.13.0 first: it is the local CPU build; anything that pulls torch later finds it
# satisfied instead of downloading a multi-gigabyte CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# OCR of scanned PDFs needs Debian's tesseract with the Dutch and English models. Installed
# here when we are root with apt; otherwise one line says how, and setup goes on.
tesseract:
	@if ! command -v tesseract >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      tesseract-ocr tesseract-ocr-nld tesseract-ocr-eng >/dev/null) || \
	      echo "could not install tesseract; scanned PDFs need: apt-get install tesseract-ocr tesseract-ocr-nld tesseract-ocr-eng"; \
	  else \
	    echo "tesseract not found; scanned PDFs need it: sudo apt-get install tesseract-ocr tesseract-ocr-nld tesseract-ocr-eng"; \
	  fi; \
	fi

run: setup
	$(KB) ingest corpus --quiet
	$(KB) serve

test: setup
	$(PY) -m pytest

# The development loop: unit tests only (no real model, server, browser, subprocess ingest,
# crash or stress trials); under a minute. `make test` (CI) runs everything.
test-fast: setup
	$(PY) -m pytest -m "not integration and not browser and not slow" -q

lint: setup
	$(VENV)/bin/ruff check kb ingest index ui tests bench corpus/tools
	$(VENV)/bin/lint-imports

# Performance against the LangChain recipe (issue #7): ingest, re-ingest, query latency, cold
# start, memory, and scale to 10^5 vectors; rewrites the bench section of docs/benchmarks.md.
# bench-scale adds the 10^6 step to the same section. Needs the optional extra `bench`.
BENCH_STAMP = $(VENV)/.bench-installed
BENCH_OUT   = bench/out

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	mkdir -p $(BENCH_OUT)
	$(PY) bench/perf.py --json $(BENCH_OUT)/results.json --docs docs/benchmarks.md

bench-scale: $(BENCH_STAMP)
	mkdir -p $(BENCH_OUT)
	$(PY) bench/perf.py --only scale --scale-max 1000000 --merge $(BENCH_OUT)/results.json \
		--json $(BENCH_OUT)/results.json --docs docs/benchmarks.md

# Screenshots of every tab (docs/screenshots/): the shipped corpus in a throw-away home,
# served and opened in Chromium; each tab with content (an answer with a PDF page in the
# viewer, comparable projects, a cell of the region matrix); Dutch and English at 1400 px,
# Dutch at 390 px. Writes the axe-core results next to them.
SHOTS_HOME ?= .kb-shots
SHOTS       = $(PY) -m tests.browser_tools --home $(SHOTS_HOME) --out docs/screenshots --fill

screenshots: setup
	KB_HOME=$(SHOTS_HOME) $(KB) ingest corpus --quiet
	$(SHOTS) --langs nl,en --widths wide --audit docs/screenshots/axe-wide.json
	$(SHOTS) --langs nl --widths phone --audit docs/screenshots/axe-phone.json

corpus: setup
	$(PY) corpus/tools/build_pdfs.py
	$(PY) corpus/tools/export_csv.py

clean:
	rm -rf $(VENV) .kb .kb-shots .pytest_cache
