# realsr — set-up, tests and benchmarks. `make install` then `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared

.PHONY: install test test-fast check lint typecheck bench

install: $(BIN)/realsr

$(BIN)/realsr: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	@touch $@

# `make test` (CI's command): lint and the type checker, then the whole suite. `make test-fast`: the suite without
# the tests marked slow (`@pytest.mark.slow`), for the edit-test loop.
test: check
	$(BIN)/python -m pytest -n 2 -q

test-fast: $(BIN)/realsr
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

check: lint typecheck

lint: $(BIN)/realsr
	$(BIN)/ruff check realsr_cli tests benchmarks
	$(BIN)/ruff format --check realsr_cli tests benchmarks

# mypy on realsr_cli ([tool.mypy] in pyproject.toml: None and wrong-type errors); import cycles are
# tests/test_import_cycles.py's.
typecheck: $(BIN)/realsr
	$(BIN)/mypy

bench: $(BIN)/realsr
	$(BIN)/python -m benchmarks

# ---------------------------------------------------------------------------------------------------------------
# The built-in default models (`realsr upscale in/ out/ -s 4`, `-s 2`, `--denoise S`), re-trained with this tool's
# own subcommands from ../shared/data/hr-train images 0001-0036 (three seeds of pairs), validated on 0037-0040.
# Per scale S: the base model (presets/train/default-xS.yaml) on `default-mix` pairs (clean / mild / realesrgan),
# then the two ends of the denoise knob, fine-tuned from it (lr 2e-4, EMA 0.99, DM_FT_ITERS_S iterations): `mild` on
# `default-mild` pairs (--denoise 0) and `strong` on `realesrgan` pairs (--denoise 1). The mild end, polished by a
# second fine-tune (run-polish), is the default model (realsr_cli/models/default/default_xS.pt), the strong end
# default_xS_strong.pt (the base model stays in runs/: on held-out photos it lost to the mild end on clean and mild
# ones and to the strong end on heavy ones), validated at three degradation levels (clean MATLAB bicubic, mild,
# realesrgan) against MATLAB bicubic: PSNR-Y, SSIM-Y, LPIPS, NIQE.
# DM_ITERS=N stretches the base schedule to N iterations; an interrupted run resumes when re-run (make default-model).
REALSR := $(BIN)/realsr
HR_TRAIN := $(abspath $(SHARED)/data/hr-train)
DM_SCALES ?= 2 4
DM_SEEDS := 1 2 3
DM_LEVELS := bicubic mild realesrgan
DM_ITERS ?=
DM_FT_ITERS_4 ?= 500
DM_FT_ITERS_2 ?= 400
DM_THREADS ?= 1
STRENGTH_ESTIMATOR := realsr_cli/models/default/strength_estimator.pt
dm_iters = $(if $(DM_ITERS),--iters $(DM_ITERS))
# fine-tuning an end of the denoise knob: from the base model, lr 2e-4, EMA 0.99 (0.999 would leave ~60 % of the
# base model's weights in a 500-iteration fine-tune's EMA, and the two ends would be nearly the same network)
dm_finetune = --init runs/default-x$(1)/run/model.pt --iters $(DM_FT_ITERS_$(1)) --set train.lr=2e-4 \
	--set train.ema_decay=0.99
# polishing the mild end: a second, longer fine-tune on the same pairs at half the rate, the preset's EMA (x4:
# clean photos +0.27 -> +0.38 dB over MATLAB bicubic, mild +0.06 -> +0.07, realesrgan +0.16 -> +0.08; x2: +0.61 ->
# +0.81, +0.41 -> +0.51, +0.04 -> -0.07, LPIPS now below bicubic's on clean and mild photos)
dm_polish = --init runs/default-x$(1)/run-mild/model.pt --iters $(DM_POLISH_ITERS_$(1)) --set train.lr=1e-4
DM_POLISH_ITERS_4 ?= 1500
DM_POLISH_ITERS_2 ?= 1500
# the run each scale ships as default_xS.pt (--denoise 0)
DM_SHIPPED_RUN_4 := run-polish
DM_SHIPPED_RUN_2 := run-polish
dm_train = OMP_NUM_THREADS=$(DM_THREADS) MKL_NUM_THREADS=$(DM_THREADS) $(REALSR) train-sr
# The shipped files per scale (default_xS<variant>.pt) and the validated ways, name:label:upscale-flags ('+' is a
# space in the label, ',' in the flags). `default` is default-gan at x4 (the only scale with a GAN model), else
# default-psnr.
DM_VARIANTS_2 := _strong
DM_VARIANTS_4 := _strong _gan
# Without --denoise a PSNR built-in model runs `--denoise auto` (the strength estimator, strength-estimator below);
# default-gan has no auto ramp and runs as it is.
DM_METHODS_2 := default-psnr:default-psnr,+auto:--model=default-psnr \
	dn0:--denoise+0,+mild+end:--model=default-psnr,--denoise=0 dn0.5:--denoise+0.5:--model=default-psnr,--denoise=0.5 \
	dn1:--denoise+1,+strong+end:--model=default-psnr,--denoise=1
DM_METHODS_4 := $(DM_METHODS_2) gan:default-gan,+the+default:--model=default-gan
# The GAN default (x4): the base model fine-tuned by presets/train/default-x4-gan.yaml (L1 + VGG16 perceptual +
# relativistic GAN, U-Net SN discriminator), DM_GAN_ITERS iterations; the VGG16 conv weights from ../shared.
DM_GAN_ITERS ?= 1000
VGG16_WEIGHTS := $(or $(wildcard $(SHARED)/weights/vgg16-features.pth),$(REALSR_VGG16_WEIGHTS))

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

# dm_train_rule(S,RUN,PAIRS,FLAGS,DEPS[,SEED]): train runs/default-xS/RUN on runs/default-xS/pairs-PAIRS (seed
# SEED, else 0), resuming a stopped run from its latest checkpoint.
define dm_train_rule
runs/default-x$(1)/$(2)/model.pt: runs/default-x$(1)/pairs-$(3)/.done runs/default-x$(1)/val-mild/pairs.jsonl \
		presets/train/default-x$(1).yaml $(5)
	if [ -f $$(@D)/checkpoints/latest.pt ]; then \
		$(dm_train) $$(<D) -o $$(@D) --resume $(4) --val runs/default-x$(1)/val-mild --overwrite; \
	else \
		$(dm_train) $$(<D) -o $$(@D) --preset default-x$(1) $(4) --val runs/default-x$(1)/val-mild --seed $(or $(6),0) \
			--device auto; \
	fi
endef

# default_model_rules(S): pairs, training, installation and validation of the xS default models.
define default_model_rules
runs/default-x$(1)/val-%/pairs.jsonl: runs/hr-val/.done | $(BIN)/realsr
	$(REALSR) make-pairs runs/hr-val -o $$(@D) -s $(1) --preset $$* --patch-size 0 --seed 123 --overwrite -q

runs/default-x$(1)/pairs-%/pairs.jsonl: runs/hr-train/.done | $(BIN)/realsr
	$(REALSR) make-pairs runs/hr-train -o $$(@D) -s $(1) --preset $$(word 1,$$(subst -s, ,$$*)) \
		--patch-size 192 --stride 192 --min-variance 0.0005 --seed $$(word 2,$$(subst -s, ,$$*)) --overwrite -q

runs/default-x$(1)/pairs-%/.done: $(foreach s,$(DM_SEEDS),runs/default-x$(1)/pairs-%-s$(s)/pairs.jsonl)
	mkdir -p $$(@D)/hr $$(@D)/lr
	for s in $(DM_SEEDS); do for d in hr lr; do for f in runs/default-x$(1)/pairs-$$*-s$$$$s/$$$$d/*.png; do \
		ln -sf $(CURDIR)/$$$$f $$(@D)/$$$$d/s$$$${s}_$$$$(basename $$$$f); done; done; done
	touch $$@

$(call dm_train_rule,$(1),run,default-mix,$(dm_iters),)
$(call dm_train_rule,$(1),run-mild,default-mild,$(dm_finetune),runs/default-x$(1)/run/model.pt)
$(call dm_train_rule,$(1),run-polish,default-mild,$(dm_polish),runs/default-x$(1)/run-mild/model.pt,1)
$(call dm_train_rule,$(1),run-strong,realesrgan,$(dm_finetune),runs/default-x$(1)/run/model.pt)

realsr_cli/models/default/default_x$(1)_gan.pt: runs/default-x$(1)/run-gan/model.pt
	mkdir -p $$(@D) && cp $$< $$@
runs/default-x$(1)/run-gan/model.pt: runs/default-x$(1)/pairs-default-mix/.done runs/default-x$(1)/val-mild/pairs.jsonl \
		presets/train/default-x$(1)-gan.yaml runs/default-x$(1)/run/model.pt
	if [ -f $$(@D)/checkpoints/latest.pt ]; then \
		$(dm_train) $$(<D) -o $$(@D) --resume --iters $(DM_GAN_ITERS) --vgg-weights $(VGG16_WEIGHTS) \
			--val runs/default-x$(1)/val-mild --overwrite; \
	else \
		$(dm_train) $$(<D) -o $$(@D) --preset default-x$(1)-gan --init runs/default-x$(1)/run/model.pt \
			--iters $(DM_GAN_ITERS) --vgg-weights $(VGG16_WEIGHTS) --val runs/default-x$(1)/val-mild --seed 0 --device auto; \
	fi

realsr_cli/models/default/default_x$(1).pt: runs/default-x$(1)/$(DM_SHIPPED_RUN_$(1))/model.pt
	mkdir -p $$(@D) && cp $$< $$@
realsr_cli/models/default/default_x$(1)_strong.pt: runs/default-x$(1)/run-strong/model.pt
	mkdir -p $$(@D) && cp $$< $$@

runs/default-x$(1)/validation.txt: realsr_cli/models/default/default_x$(1).pt $(STRENGTH_ESTIMATOR) \
		$(foreach v,$(DM_VARIANTS_$(1)),realsr_cli/models/default/default_x$(1)$(v).pt) \
		$(foreach l,$(DM_LEVELS),runs/default-x$(1)/val-$(l)/pairs.jsonl) benchmarks/demo/bicubic.py benchmarks/demo/table.py
	rm -f $$@.tmp
	for l in $(DM_LEVELS); do v=runs/default-x$(1)/val-$$$$l; \
		$(BIN)/python benchmarks/demo/bicubic.py $$$$v/lr $$$$v/sr-bicubic $(1) || exit 1; \
		for m in $(DM_METHODS_$(1)); do name=$$$${m%%:*}; \
			$(REALSR) upscale $$$$v/lr $$$$v/sr-$$$$name -s $(1) $$$$(echo $$$${m##*:} | tr , ' ') --overwrite -q || exit 1; done; \
		for m in bicubic $(foreach m,$(DM_METHODS_$(1)),$(firstword $(subst :, ,$(m)))); do \
			$(REALSR) score $$$$v/sr-$$$$m --gt $$$$v/hr --crop-border $(1) \
			--y-channel --metrics $(SCORE_METRICS),niqe --json $$$$v/score-$$$$m.json --overwrite -q || exit 1; done; \
		$(BIN)/python benchmarks/demo/table.py --title "default x$(1) models, hr-train 0037-0040, level $$$$l" \
			"MATLAB bicubic=$$$$v/score-bicubic.json" \
			$(foreach m,$(DM_METHODS_$(1)),"$(subst +, ,$(word 2,$(subst :, ,$(m))))=$$$$v/score-$(firstword $(subst :, ,$(m))).json") \
			>> $$@.tmp || exit 1; done
	mv $$@.tmp $$@ && cat $$@
endef
$(foreach s,$(DM_SCALES),$(eval $(call default_model_rules,$(s))))

# `upscale --denoise auto` (the default for default-psnr): a small CNN trained to tell the mild end's training
# degradations from the strong end's, and per shipped model a ramp from its probability to a strength fitted on
# crops of the training photos (benchmarks/demo/strength_estimator.py; 16 min on the 2-core CPU).
# (STRENGTH_ESTIMATOR is set above the default-model rules, which need it.)
.PHONY: strength-estimator
strength-estimator: $(STRENGTH_ESTIMATOR)
$(STRENGTH_ESTIMATOR): benchmarks/demo/strength_estimator.py realsr_cli/upscale/strength.py \
		$(foreach s,$(DM_SCALES),realsr_cli/models/default/default_x$(s).pt \
		$(foreach v,$(DM_VARIANTS_$(s)),realsr_cli/models/default/default_x$(s)$(v).pt)) | $(BIN)/realsr
	OMP_NUM_THREADS=$(DM_THREADS) $(BIN)/python benchmarks/demo/strength_estimator.py $(HR_TRAIN) $@ \
		$(if $(LPIPS_WEIGHTS),--lpips-weights $(LPIPS_WEIGHTS))

# ---------------------------------------------------------------------------------------------------------------
# `make demo` (issue 9): the whole method through files on disk, on ../shared/data/hr-train images halved in size.
# A hidden "camera" (benchmarks/demo/camera.yaml) degrades source photos (0011-0013) and a held-out test set
# (0014-0020, GT = its halved HR); learn-degradation (KernelGAN + noise, default options) sees only the source
# photos (its noise patches, or noise/model.json when they are fewer than 8, are what make-pairs injects);
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
	$(REALSR) learn-degradation $(<D) -o $(@D) -s 4 --method kernelgan,noise --iters $(DEMO_KG_ITERS) \
		--seed 0 --overwrite -q && touch $@

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

# ---------------------------------------------------------------------------------------------------------------
# `make bench-cameras` (issue 13, item 5): the camera zoo. Eight synthetic cameras (benchmarks/cameras/*.yaml; four
# held out, see its README) each shoot source photos and a held-out test set; learn-degradation with its defaults,
# make-pairs, a short train-sr, upscale and score, against bicubic, bicubic/generic/realesrgan-trained networks and
# the true-camera upper bound. One thread (~46 min estimated on the 2-core CPU); work and results in runs/cameras/
# (cameras.md, cameras.json), cached so a re-run resumes. BENCH_CAMERAS_ARGS="--quick" (minutes, numbers not
# meaningful), "--cameras phone,night", "--jobs 2" (two cameras at a time on an idle machine).
BENCH_CAMERAS_ARGS ?=

.PHONY: bench-cameras

bench-cameras: $(BIN)/realsr
	OMP_NUM_THREADS=1 $(BIN)/python -m benchmarks cameras $(BENCH_CAMERAS_ARGS)
