# Two entry points: `make repro` (set up, then run the pipeline) and `make test` (set up, then the tests).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup repro test bench clean-venv test-labelstudio

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e ".[test]"
	touch $@

setup: $(BIN)/.installed

repro: setup
	@$(BIN)/vistance corpus status
	$(BIN)/dvc repro

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/bench_throughput.py

# The annotation round trip against a real Label Studio (not part of `make test`): its own venv,
# a server on 127.0.0.1 started and stopped by the test. VISTANCE_LABELSTUDIO_RECORD=DIR saves its exports.
LS_VENV ?= .venv-labelstudio
$(LS_VENV)/bin/label-studio:
	$(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/pip install -q label-studio==1.23.2

test-labelstudio: setup $(LS_VENV)/bin/label-studio
	VISTANCE_LABELSTUDIO=$(CURDIR)/$(LS_VENV) $(BIN)/python -m pytest -q -s -m labelstudio tests/integration/test_labelstudio_real.py

clean-venv:
	rm -rf $(VENV)
