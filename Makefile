# Set-up and entry points. `make demo` and `make test` each create .venv and install what they need.
VENV ?= .venv
PY := $(VENV)/bin/python
# CPU build of torch by default; GPU users: make TORCH_SPEC="torch==2.13.0 --index-url <your CUDA wheel index>"
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test install quick clean

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

test: $(VENV)/.installed
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) results
