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
# The built-in default models (`realsr upscale in/ out/ -s 4`, `-s 2`), re-trained with this tool's own subcommands:
# realesrgan-degraded pairs from ../shared/data/hr-train images 0001-0036 (three seeds), validation on 0037-0040.
# `make default-model` trains both with presets/train/default-x{2,4}.yaml (~11 min each on the 2-core CPU),
# installs them into realsr_cli/models/default/ and prints each one's validation table against MATLAB bicubic.
# DM_ITERS=N trains N iterations (the cosine period stretched to N); an interrupted run resumes when re-run.
REALSR := $(BIN)/realsr
HR_TRAIN := $(abspath $(SHARED)/data/hr-train)
DM_SCALES ?= 2 4
DM_SEEDS := 1 2 3
DM_ITERS ?=
dm_iters = $(if $(DM_ITERS),--iters $(DM_ITERS))

# Scoring in default-model and demo: LPIPS-alex with ../shared's offline AlexNet weights or $REALSR_LPIPS_BACKBONE
# (SCORE_METRICS=psnr,ssim,lpips when torchvision's cache already holds them).
LPIPS_WEIGHTS := $(or $(wildcard $(SHARED)/weights/alexnet-features.pth),$(REALSR_LPIPS_BACKBONE))
comma := ,
SCORE_METRICS ?= psnr,ssim$(if $(LPIPS_WEIGHTS),$(comma)lpips)
default-model demo: export REALSR_LPIPS_BACKBONE := $(if $(LPIPS_WEIGHTS),$(abspath $(LPIPS_WEIGHTS)))

.PHONY: default-model

default-model: $(foreach s,$(DM_SCALES),runs/default-x$(s)/validation.txt)

runs/hr-train/.done:
	mkdir -p $(@D) && for i in $$(seq -f %04g 1 36); do ln -sf $(HR_TRAIN)/$$i.png $(@D)/; done && touch $@

runs/hr-val/.done:
	mkdir -p $(@D) && for i in $$(seq -f %04g 37 40); do ln -sf $(HR_TRAIN)/$$i.png $(@D)/; done && touch $@

# default_model_rules(S): pairs, training, installation and validation of the xS default model under runs/default-xS.
define default_model_rules
runs/default-x$(1)/val/pairs.jsonl: runs/hr-val/.done | $(BIN)/realsr
	$(REALSR) make-pairs runs/hr-val -o $$(@D) -s $(1) --preset realesrgan --patch-size 0 --seed 123 --overwrite -q

runs/default-x$(1)/pairs-s%/pairs.jsonl: runs/hr-train/.done | $(BIN)/realsr
	$(REALSR) make-pairs runs/hr-train -o $$(@D) -s $(1) --preset realesrgan --patch-size 192 --stride 192 \
		--min-variance 0.0005 --seed $$* --overwrite -q

runs/default-x$(1)/pairs/.done: $(foreach s,$(DM_SEEDS),runs/default-x$(1)/pairs-s$(s)/pairs.jsonl)
	mkdir -p $$(@D)/hr $$(@D)/lr
	for s in $(DM_SEEDS); do for d in hr lr; do for f in runs/default-x$(1)/pairs-s$$$$s/$$$$d/*.png; do \
		ln -sf $(CURDIR)/$$$$f $$(@D)/$$$$d/s$$$${s}_$$$$(basename $$$$f); done; done; done
	touch $$@

runs/default-x$(1)/run/model.pt: runs/default-x$(1)/pairs/.done runs/default-x$(1)/val/pairs.jsonl \
		presets/train/default-x$(1).yaml
	if [ -f $$(@D)/checkpoints/latest.pt ]; then \
		$(REALSR) train-sr $$(<D) -o $$(@D) --resume $(dm_iters) --val runs/default-x$(1)/val --overwrite; \
	else \
		$(REALSR) train-sr $$(<D) -o $$(@D) --preset default-x$(1) $(dm_iters) --val runs/default-x$(1)/val --seed 0 \
			--device auto; \
	fi

realsr_cli/models/default/default_x$(1).pt: runs/default-x$(1)/run/model.pt
	mkdir -p $$(@D) && cp $$< $$@

runs/default-x$(1)/validation.txt: realsr_cli/models/default/default_x$(1).pt runs/default-x$(1)/val/pairs.jsonl \
		benchmarks/demo/bicubic.py benchmarks/demo/table.py
	$(BIN)/python benchmarks/demo/bicubic.py $$(@D)/val/lr $$(@D)/sr-bicubic $(1)
	$(REALSR) upscale $$(@D)/val/lr $$(@D)/sr-default -s $(1) --model $$< --overwrite -q
	for m in bicubic default; do $(REALSR) score $$(@D)/sr-$$$$m --gt $$(@D)/val/hr --crop-border $(1) \
		--metrics $(SCORE_METRICS) --json $$(@D)/score-$$$$m.json --overwrite -q || exit 1; done
	$(BIN)/python benchmarks/demo/table.py --title "default x$(1) model, validation (hr-train 0037-0040, realesrgan)" \
		"MATLAB bicubic=$$(@D)/score-bicubic.json" "default model=$$(@D)/score-default.json" > $$@.tmp
	mv $$@.tmp $$@ && cat $$@
endef
$(foreach s,$(DM_SCALES),$(eval $(call default_model_rules,$(s))))

# ---------------------------------------------------------------------------------------------------------------
# `make demo` (issue 9): the whole method through files on disk, on ../shared/data/hr-train images halved in size.
# A hidden "camera" (benchmarks/demo/camera.yaml) degrades source photos (0011-0013) and a held-out test set
# (0014-0020, GT = its halved HR); learn-degradation (KernelGAN + noise patches) sees only the source photos;
# make-pairs from clean images 0001-0010 three ways (bicubic, generic, learned kernels + noise), plus the camera
# itself as an upper bound; the default model's network and recipe (presets/train/default-x4.yaml, its cosine period
# stretched to DEMO_ITERS) is trained on each, upscales the test set and is scored against bicubic. The table must
# show the learned degradation beating bicubic and the bicubic-trained model. Smaller: DEMO_ITERS=50 DEMO_KG_ITERS=50.
DEMO := demo
DEMO_ITERS ?= 1500
DEMO_BATCH ?= 8
DEMO_KG_ITERS ?= 3000
DEMO_SETS := train:1:10 src:11:13 test:14:20
DEMO_WAYS := bicubic generic learned camera

.PHONY: demo demo-clean
# Keep every intermediate file (pairs, models, upscaled images) so that re-runs only redo what changed.
.SECONDARY:

demo: $(DEMO)/scores/bicubic.json $(foreach w,$(DEMO_WAYS),$(DEMO)/scores/$(w)-trained.json)
	$(BIN)/python benchmarks/demo/table.py --require "learned-kernels+noise-trained>bicubic,bicubic-trained" \
		bicubic=$(DEMO)/scores/bicubic.json bicubic-trained=$(DEMO)/scores/bicubic-trained.json \
		generic-trained=$(DEMO)/scores/generic-trained.json \
		learned-kernels+noise-trained=$(DEMO)/scores/learned-trained.json \
		"true-camera-trained (upper bound)=$(DEMO)/scores/camera-trained.json"

demo-clean:
	rm -rf $(DEMO)

# HR originals (symlinks), then halved with MATLAB bicubic to keep the demo fast.
$(DEMO)/orig-%/.done: | $(BIN)/realsr
	mkdir -p $(@D) && set -- $(subst :, ,$(filter $*:%,$(DEMO_SETS))) && \
		for i in $$(seq -f %04g $$2 $$3); do ln -sf $(HR_TRAIN)/$$i.png $(@D)/; done && touch $@

$(DEMO)/hr-%/.done: $(DEMO)/orig-%/.done
	$(REALSR) degrade $(<D) $(@D) --preset bicubic -s 2 --overwrite -q && touch $@

# The hidden camera: x4 source photos and held-out test LR.
$(DEMO)/cam-%/.done: $(DEMO)/hr-%/.done benchmarks/demo/camera.yaml
	$(REALSR) degrade $(<D) $(@D) --preset benchmarks/demo/camera.yaml -s 4 --seed 7 --overwrite -q && touch $@

$(DEMO)/learned/.done: $(DEMO)/cam-src/.done
	$(REALSR) learn-degradation $(<D) -o $(@D) -s 4 -m kernelgan,noise --iters $(DEMO_KG_ITERS) \
		--noise-window 16 --noise-stride 8 --noise-max-var 30 --seed 0 --overwrite -q && touch $@

$(DEMO)/pairs-bicubic/pairs.jsonl: $(DEMO)/hr-train/.done
	$(REALSR) make-pairs $(<D) -o $(@D) -s 4 --preset bicubic --patch-size 128 --stride 128 --seed 0 --overwrite -q
$(DEMO)/pairs-generic/pairs.jsonl: $(DEMO)/hr-train/.done
	$(REALSR) make-pairs $(<D) -o $(@D) -s 4 --preset generic --patch-size 128 --stride 128 --seed 0 --overwrite -q
# The upper bound: pairs made with the hidden camera itself, which a real user never has.
$(DEMO)/pairs-camera/pairs.jsonl: $(DEMO)/hr-train/.done benchmarks/demo/camera.yaml
	$(REALSR) make-pairs $(<D) -o $(@D) -s 4 --preset benchmarks/demo/camera.yaml --patch-size 128 --stride 128 \
		--seed 0 --overwrite -q
$(DEMO)/pairs-learned/pairs.jsonl: $(DEMO)/hr-train/.done $(DEMO)/learned/.done
	$(REALSR) make-pairs $(<D) -o $(@D) -s 4 --kernels $(DEMO)/learned/kernels --noise-patches $(DEMO)/learned/noise \
		--patch-size 128 --stride 128 --seed 0 --overwrite -q

$(DEMO)/run-%/model.pt: $(DEMO)/pairs-%/pairs.jsonl presets/train/default-x4.yaml
	$(REALSR) train-sr $(<D) -o $(@D) -s 4 --preset default-x4 --iters $(DEMO_ITERS) --batch-size $(DEMO_BATCH) \
		--seed 0 --device auto --overwrite -q

$(DEMO)/sr-bicubic/.done: $(DEMO)/cam-test/.done benchmarks/demo/bicubic.py
	$(BIN)/python benchmarks/demo/bicubic.py $(<D) $(@D) 4 && touch $@
$(DEMO)/sr-%-trained/.done: $(DEMO)/run-%/model.pt $(DEMO)/cam-test/.done
	$(REALSR) upscale $(DEMO)/cam-test $(@D) -s 4 --model $< --overwrite -q && touch $@

$(DEMO)/scores/%.json: $(DEMO)/sr-%/.done $(DEMO)/hr-test/.done
	mkdir -p $(@D) && $(REALSR) score $(<D) --gt $(DEMO)/hr-test --metrics $(SCORE_METRICS) --crop-to-gt --json $@ --overwrite -q
