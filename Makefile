# realsr — set-up, tests and benchmarks. `make install` then `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared

.PHONY: install test test-fast lint bench

install: $(BIN)/realsr

$(BIN)/realsr: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	@touch $@

test: $(BIN)/realsr
	$(BIN)/python -m pytest -n 2 -q

lint: $(BIN)/realsr
	$(BIN)/ruff check realsr_cli tests benchmarks
	$(BIN)/ruff format --check realsr_cli tests benchmarks

bench: $(BIN)/realsr
	$(BIN)/python -m benchmarks

# ---------------------------------------------------------------------------------------------------------------
# The built-in default model (`realsr upscale in/ out/ -s 4`), re-trained with this tool's own subcommands:
# realesrgan-degraded pairs from ../shared/data/hr-train images 0001-0036, validation on 0037-0040.
# `make default-model` (3,000 iterations: ~12 min on an idle 2-core CPU; DM_ITERS=N for longer, resumed by re-running).
REALSR := $(BIN)/realsr
HR_TRAIN := $(abspath $(SHARED)/data/hr-train)
DM := runs/default-x4
DM_ITERS ?= 3000
DM_SEEDS := 1 2 3

.PHONY: default-model

default-model: realsr_cli/models/default/default_x4.pt

$(DM)/hr-train/.done:
	mkdir -p $(@D) && for i in $$(seq -f %04g 1 36); do ln -sf $(HR_TRAIN)/$$i.png $(@D)/; done && touch $@

$(DM)/hr-val/.done:
	mkdir -p $(@D) && for i in $$(seq -f %04g 37 40); do ln -sf $(HR_TRAIN)/$$i.png $(@D)/; done && touch $@

$(DM)/val/pairs.jsonl: $(DM)/hr-val/.done
	$(REALSR) make-pairs $(DM)/hr-val -o $(DM)/val -s 4 --preset realesrgan --patch-size 0 --seed 123 --overwrite -q

$(DM)/pairs-s%/pairs.jsonl: $(DM)/hr-train/.done
	$(REALSR) make-pairs $(DM)/hr-train -o $(@D) -s 4 --preset realesrgan --patch-size 192 --stride 192 \
		--min-variance 0.0005 --seed $* --overwrite -q

$(DM)/pairs/.done: $(foreach s,$(DM_SEEDS),$(DM)/pairs-s$(s)/pairs.jsonl)
	mkdir -p $(@D)/hr $(@D)/lr
	for s in $(DM_SEEDS); do for d in hr lr; do for f in $(DM)/pairs-s$$s/$$d/*.png; do \
		ln -sf $(abspath .)/$$f $(@D)/$$d/s$${s}_$$(basename $$f); done; done; done
	touch $@

$(DM)/run/model.pt: $(DM)/pairs/.done $(DM)/val/pairs.jsonl presets/train/default-x4.yaml
	if [ -f $(DM)/run/checkpoints/latest.pt ]; then \
		$(REALSR) train-sr $(DM)/pairs -o $(DM)/run --resume --iters $(DM_ITERS) --val $(DM)/val --overwrite; \
	else \
		$(REALSR) train-sr $(DM)/pairs -o $(DM)/run --preset default-x4 --iters $(DM_ITERS) --val $(DM)/val \
			--seed 0 --device auto; \
	fi

realsr_cli/models/default/default_x4.pt: $(DM)/run/model.pt
	mkdir -p $(@D) && cp $< $@
