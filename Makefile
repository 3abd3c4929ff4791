# Single entry point. `make demo` (main job on the toy data) and `make test` both build the environment first.
VENV ?= $(CURDIR)/.venv
PY := $(VENV)/bin/python
export MMWSSS_VENV := $(VENV)

.PHONY: env demo test toy-data clean-demo

env:  ## build / check the virtual environment (idempotent)
	bash tools/setup_env.sh

toy-data: env  ## generate the embedded toy data set into data/toy_voc
	$(PY) tools/dataset_converters/make_toy_voc.py data/toy_voc

demo: env  ## the main job: the toy WSSS pipeline end to end on CPU
	bash tools/run_demo.sh

test: env  ## the test suite
	$(PY) -m pytest tests -q

clean-demo:
	rm -rf work_dirs/demo data/toy_voc
