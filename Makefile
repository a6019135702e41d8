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

# ---------------------------------------------------------------------------------------------------------------
# `make demo` (issue 9): the whole method through files on disk, on ../shared/data/hr-train images halved in size.
# A hidden "camera" (benchmarks/demo/camera.yaml) degrades source photos (0011-0013) and a held-out test set
# (0014-0016, GT = its halved HR); learn-degradation (KernelGAN + noise patches) sees only the source photos;
# make-pairs from clean images 0001-0010 three ways (bicubic, generic, learned kernels + noise); the same small
# SRVGGNet-compact is trained on each, upscales the test set and is scored against bicubic. Smaller: DEMO_ITERS=50.
DEMO := demo
DEMO_ITERS ?= 1500
DEMO_KG_ITERS ?= 400
DEMO_FEAT ?= 32
DEMO_CONV ?= 8
DEMO_SETS := train:1:10 src:11:13 test:14:16
DEMO_WAYS := bicubic generic learned
DEMO_LPIPS := $(wildcard $(SHARED)/weights/alexnet-features.pth)
comma := ,
DEMO_METRICS := psnr,ssim$(if $(DEMO_LPIPS),$(comma)lpips)
export REALSR_LPIPS_BACKBONE := $(if $(DEMO_LPIPS),$(abspath $(DEMO_LPIPS)),$(REALSR_LPIPS_BACKBONE))

.PHONY: demo demo-clean
.PRECIOUS: $(DEMO)/%/.done $(DEMO)/%/model.pt $(DEMO)/%/pairs.jsonl

demo: $(DEMO)/scores/bicubic.json $(foreach w,$(DEMO_WAYS),$(DEMO)/scores/$(w)-trained.json)
	$(BIN)/python benchmarks/demo/table.py bicubic=$(DEMO)/scores/bicubic.json \
		bicubic-trained=$(DEMO)/scores/bicubic-trained.json generic-trained=$(DEMO)/scores/generic-trained.json \
		learned-kernels+noise-trained=$(DEMO)/scores/learned-trained.json

demo-clean:
	rm -rf $(DEMO)

# HR originals (symlinks), then halved with MATLAB bicubic to keep the demo fast.
$(DEMO)/orig-%/.done:
	mkdir -p $(@D) && set -- $(subst :, ,$(filter $*:%,$(DEMO_SETS))) && \
		for i in $$(seq -f %04g $$2 $$3); do ln -sf $(HR_TRAIN)/$$i.png $(@D)/; done && touch $@

$(DEMO)/hr-%/.done: $(DEMO)/orig-%/.done
	$(REALSR) degrade $(<D) $(@D) --preset bicubic -s 2 --overwrite -q && touch $@

# The hidden camera: x4 source photos and held-out test LR.
$(DEMO)/cam-%/.done: $(DEMO)/hr-%/.done benchmarks/demo/camera.yaml
	$(REALSR) degrade $(<D) $(@D) --preset benchmarks/demo/camera.yaml -s 4 --seed 7 --overwrite -q && touch $@

$(DEMO)/learned/.done: $(DEMO)/cam-src/.done
	$(REALSR) learn-degradation $(<D) -o $(@D) -s 4 -m kernelgan,noise --iters $(DEMO_KG_ITERS) \
		--noise-window 16 --noise-stride 8 --noise-max-var 300 --seed 0 --overwrite -q && touch $@

$(DEMO)/pairs-bicubic/pairs.jsonl: $(DEMO)/hr-train/.done
	$(REALSR) make-pairs $(<D) -o $(@D) -s 4 --preset bicubic --patch-size 128 --stride 128 --seed 0 --overwrite -q
$(DEMO)/pairs-generic/pairs.jsonl: $(DEMO)/hr-train/.done
	$(REALSR) make-pairs $(<D) -o $(@D) -s 4 --preset generic --patch-size 128 --stride 128 --seed 0 --overwrite -q
$(DEMO)/pairs-learned/pairs.jsonl: $(DEMO)/hr-train/.done $(DEMO)/learned/.done
	$(REALSR) make-pairs $(<D) -o $(@D) -s 4 --kernels $(DEMO)/learned/kernels --noise-patches $(DEMO)/learned/noise \
		--patch-size 128 --stride 128 --seed 0 --overwrite -q

$(DEMO)/run-%/model.pt: $(DEMO)/pairs-%/pairs.jsonl
	$(REALSR) train-sr $(<D) -o $(@D) -s 4 --arch srvggnet-compact \
		--set "arch_args={num_feat: $(DEMO_FEAT), num_conv: $(DEMO_CONV)}" --iters $(DEMO_ITERS) --batch-size 4 \
		--patch-size 128 --seed 0 --device auto --overwrite -q

$(DEMO)/sr-bicubic/.done: $(DEMO)/cam-test/.done benchmarks/demo/bicubic.py
	$(BIN)/python benchmarks/demo/bicubic.py $(<D) $(@D) 4 && touch $@
$(DEMO)/sr-%-trained/.done: $(DEMO)/run-%/model.pt $(DEMO)/cam-test/.done
	$(REALSR) upscale $(DEMO)/cam-test $(@D) -s 4 --model $< --overwrite -q && touch $@

$(DEMO)/scores/%.json: $(DEMO)/sr-%/.done $(DEMO)/hr-test/.done
	mkdir -p $(@D) && $(REALSR) score $(<D) --gt $(DEMO)/hr-test --metrics $(DEMO_METRICS) --crop-to-gt --json $@ --overwrite -q
