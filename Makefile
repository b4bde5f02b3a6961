# Set-up and entry points. `make demo` and `make test` each create .venv and install what they need.
VENV ?= .venv
PY := $(VENV)/bin/python
# CPU build of torch by default; GPU users: make TORCH_SPEC="torch==2.13.0 --index-url <your CUDA wheel index>"
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test install quick observed transfer clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/noisebench demo

quick: $(VENV)/.installed
	$(VENV)/bin/noisebench train --grid experiments/quick.yaml --results results/quick --jobs 2

# Real noise that ships with a dataset (issue 22): the vader one-rater example's data, then its grid
# (observed vs its same-T control vs temperature vs uniform at one matched rate), then its report.
observed: $(VENV)/.installed
	$(PY) -m noisebench.data.observed_example results/data
	$(VENV)/bin/noisebench train --grid experiments/observed.yaml --results results/observed --jobs 2
	$(VENV)/bin/noisebench report --results results/observed --out results/observed/report.md

# Transfer (paper Table 5): the source grid saves its fine-tuned encoders, the few-shot grid starts from
# them (by run_id) in the same results folder, then `noisebench plot` writes every figure the results support
# into figures/transfer/, transfer_<task>.png/.pdf among them.
TRANSFER_RESULTS ?= results/transfer
transfer: $(VENV)/.installed
	$(VENV)/bin/noisebench train --grid experiments/transfer-source.yaml --results $(TRANSFER_RESULTS) --jobs 2
	$(VENV)/bin/noisebench train --grid experiments/transfer.yaml --results $(TRANSFER_RESULTS) --jobs 2
	$(VENV)/bin/noisebench plot --results $(TRANSFER_RESULTS) --out figures/transfer --overwrite

test: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m pytest -q -n auto --dist loadgroup

clean:
	rm -rf $(VENV) results
