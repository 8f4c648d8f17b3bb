# Two commands for a newcomer: `make console` and `make test`. Both install first if needed.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# torch always comes as a CPU-only build: from PyTorch's own CPU wheel index when it answers
# within INDEX_TIMEOUT seconds, else from pip's configured local sources (find-links, such as a
# wheelhouse) as torch==$(TORCH_VERSION)+cpu. PyPI's torch for Linux is the CUDA build (several GB):
# it is never the fallback.
TORCH_VERSION := 2.13.0
TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu
INDEX_TIMEOUT ?= 10
WHEELHOUSE ?= deploy/wheelhouse

.PHONY: install console test test-fast lint telegram bench eval torch-cpu deps wheelhouse image smoke

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(MAKE) --no-print-directory torch-cpu VENV=$(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Exits 0 when PyTorch's CPU index answers within INDEX_TIMEOUT seconds (and pip may use indexes).
TORCH_INDEX_UP = [ -z "$${PIP_NO_INDEX:-}" ] && $(PY) -c 'import sys, urllib.request; \
	urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=float(sys.argv[2]))' \
	"$(TORCH_INDEX_URL)" "$(INDEX_TIMEOUT)" 2>/dev/null
NO_CPU_TORCH = echo "no CPU wheel of torch $(TORCH_VERSION) found: set TORCH_INDEX_URL to a reachable \
	mirror of PyTorch's CPU index, or PIP_FIND_LINKS to a folder holding torch-$(TORCH_VERSION)+cpu" >&2
REQUIREMENTS = $(PY) -c 'import tomllib; \
	print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))'

torch-cpu:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@if $(TORCH_INDEX_UP); then \
	    echo "torch $(TORCH_VERSION), CPU build, from $(TORCH_INDEX_URL)"; \
	    $(BIN)/python -m pip install --quiet --timeout $(INDEX_TIMEOUT) \
	        --index-url "$(TORCH_INDEX_URL)" torch==$(TORCH_VERSION); \
	else \
	    echo "torch: $(TORCH_INDEX_URL) not reachable; taking torch==$(TORCH_VERSION)+cpu from pip's local sources"; \
	    $(BIN)/python -m pip install --quiet torch==$(TORCH_VERSION)+cpu || { $(NO_CPU_TORCH); exit 1; }; \
	fi
	@$(BIN)/python -W ignore -c 'import sys, torch; sys.exit( \
	f"torch {torch.__version__} in $(VENV) is a CUDA build: rm -rf $(VENV), then make install" \
	if torch.version.cuda else 0)'

# The image's dependency layer: CPU torch and the runtime dependencies from pyproject.toml,
# without the dev tools and without the project itself (its code is copied in a later layer).
deps: torch-cpu
	$(REQUIREMENTS) > $(VENV)/requirements.txt
	$(BIN)/python -m pip install --quiet --no-cache-dir -r $(VENV)/requirements.txt

# Wheels for an offline image build (docker build --build-arg OFFLINE=1): run where pip reaches
# an index, with a Python 3.11 on the image's platform (Linux x86_64).
wheelhouse:
	mkdir -p $(WHEELHOUSE)
	$(REQUIREMENTS) > $(WHEELHOUSE)/requirements.txt
	@if $(TORCH_INDEX_UP); then \
	    $(PY) -m pip download --quiet --no-deps -d $(WHEELHOUSE) --timeout $(INDEX_TIMEOUT) \
	        --index-url "$(TORCH_INDEX_URL)" torch==$(TORCH_VERSION); \
	else \
	    $(PY) -m pip download --quiet --no-deps -d $(WHEELHOUSE) torch==$(TORCH_VERSION)+cpu \
	        || { $(NO_CPU_TORCH); exit 1; }; \
	fi
	$(PY) -m pip wheel --quiet -w $(WHEELHOUSE) --find-links $(WHEELHOUSE) \
	    torch==$(TORCH_VERSION) -r $(WHEELHOUSE)/requirements.txt
	@du -sh $(WHEELHOUSE)

image:
	docker build -t article-bot:latest .

# Builds the image and runs it for real (needs a Docker engine): see deploy/smoke.sh.
smoke:
	bash deploy/smoke.sh

console: $(STAMP)
	$(BIN)/python -m bot console

telegram: $(STAMP)
	$(BIN)/python -m bot telegram

eval: $(STAMP)
	$(BIN)/python -m bot eval

bench: $(STAMP)
	$(BIN)/python -m bot bench

lint: $(STAMP)
	$(BIN)/ruff check bot embeddings corpus tests
	$(BIN)/mypy
	$(BIN)/lint-imports  # the layers and forbidden imports of pyproject.toml

# Two workers (pytest-xdist), each test file on one worker so that a file's module fixtures are
# built once, files handed out in collection order (files with slow tests first, see
# tests/conftest.py) so that no long file starts last. `pytest tests/test_x.py` alone runs in
# one process as usual.
XDIST := -n $(or $(TEST_WORKERS),2) --dist loadfile --no-loadscope-reorder

# The linters (45 s on a fresh clone, mostly mypy without its cache, one core) run beside the
# tests, whose two workers leave a core idle about a third of the time (waits on subprocesses
# and servers); their output is printed after the tests', and either failing fails the target.
test: $(STAMP)
	@$(MAKE) --no-print-directory lint > $(VENV)/lint.log 2>&1 & linting=$$!; \
	$(BIN)/python -m pytest $(XDIST); tests=$$?; \
	wait $$linting; linted=$$?; cat $(VENV)/lint.log; \
	[ $$tests -eq 0 ] && [ $$linted -eq 0 ]

# Between edits: everything but the tests marked slow (subprocesses, torch, conversions, soak,
# bench); `make test` before committing runs them all.
test-fast: $(STAMP)
	$(BIN)/python -m pytest $(XDIST) -m "not slow"
