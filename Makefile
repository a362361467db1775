# Two commands on a fresh machine: `make demo` and `make test`. Both create/update .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install demo test serve bench model clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel
	# torch first, pinned: the CPU wheel; an unpinned torch would pull the CUDA stack.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,postgres,detoxify]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/moderation demo

serve: $(STAMP)
	$(BIN)/moderation serve

test: $(STAMP)
	$(BIN)/moderation rules test rules/
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run

# The shipped model, from the permissively licensed corpora in ../shared/data (see bench/corpora.py TRAIN).
model: $(STAMP)
	$(BIN)/python -m bench.shipped_model $(if $(DATA),--data $(DATA))

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
