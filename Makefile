# Two entry points (see README): `make main` and `make test`. Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: main test test-slow

$(STAMP): setup.cfg pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch is pinned to the wheels this project is tested with; any torch>=2.1 works.
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -c constraints.txt -e ".[test]"
	touch $(STAMP)

# main: prepare nuclei2d, train the nuclei bundle with its default schedule (reduced-width Swin-UMamba, 128x128
# patches, 80 epochs, a few minutes on 2 cores), evaluate on the test split, run inference on the test images.
# scripts/run_workflow.py prints and runs each step as the `python -m monai.bundle run` command of the bundle README.
main: $(STAMP)
	$(PY) scripts/run_workflow.py nuclei --bundle_defaults

# two pytest-xdist workers, a test file each at a time (a file's tests share its trained models): most tests wait on
# single-threaded `python -m monai.bundle` subprocesses, so two keep both cores busy. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not slow and not gpu" -q tests

test-slow: $(STAMP)
	$(PY) -m pytest -m "slow" -q tests
