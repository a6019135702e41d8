"""The SR training loop (BasicSR's SRModel / SRGANModel / ESRGANModel / RealESRGANModel in one engine).

Generator step: weighted reconstruction losses (+ adversarial loss through a frozen discriminator), Adam (or AdamW,
``train.optimizer``), optional gradient clipping, EMA update; discriminator step (when ``losses.gan.weight > 0``): the
standard, LSGAN or relativistic-average objective (ESRGAN), as in BasicSR (basicsr/models/esrgan_model.py). Mixed
precision (bf16/fp16 autocast, fp16 with a GradScaler) on CUDA, bf16 on CPUs with native bf16 (:func:`training_amp`);
channels-last on CUDA only; DDP under
torchrun. Outputs in RUN_DIR: ``model.pt`` (realsr_cli.models.checkpoint.save_model), ``model_best.pt`` (best
validation score), ``checkpoints/latest.pt`` (full state for ``--resume``), ``log.jsonl``, ``curves.png`` (losses
and validation metrics against iterations), ``config.yaml``, ``tb/`` (TensorBoard, when installed), ``snapshots/``
(the last ``train.keep_snapshots`` models, for ``realsr fuse``). Batch augmentations (CutBlur, MoA) come from
``data.augment`` (:mod:`realsr_cli.train.augments`); ``--val`` may hold LR images only, judged by a no-reference
``train.best_metric`` (:mod:`realsr_cli.train.validation`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import operator
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.optim.lr_scheduler import LRScheduler
from torch.utils.data import DataLoader

from realsr_cli import __version__
from realsr_cli.batch import error_text
from realsr_cli.console import info_line, make_progress, warn_line
from realsr_cli.device import bf16_native, resolve_device
from realsr_cli.errors import InputError, OutputExistsError, PresetError, RealSRError
from realsr_cli.io.atomic import atomic_write_text, dumps_json_line
from realsr_cli.losses import LossSet, build_losses, pixel_loss
from realsr_cli.seeding import seed_everything
from realsr_cli.train import distributed as distx
from realsr_cli.train.augments import BatchAugment
from realsr_cli.train.config import validate
from realsr_cli.train.data import DegradedPatches, PairedPatches, StepSampler
from realsr_cli.train.ema import ModelEMA
from realsr_cli.train.fuse import prune_snapshots, snapshot_path
from realsr_cli.train.optimizers import build_optimizer
from realsr_cli.train.schedules import build_scheduler
from realsr_cli.train.state import load_state, save_state, set_rng_state
from realsr_cli.train.usm import usm_sharp
from realsr_cli.train.validation import (
    check_validation,
    load_validation_set,
    lower_is_better,
    score_output,
    validation_metrics,
)

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def training_amp(requested: str, device: torch.device) -> str:
    """``train.amp`` on ``device``: as asked on CUDA; on the CPU bf16 where it computes bf16 natively (AVX512-BF16,
    AMX: 3-5x the fp32 speed of a conv net's step), else none (emulated bf16 and CPU fp16 are slower than fp32)."""
    if device.type == "cuda" or requested == "none":
        return requested
    if requested == "bf16" and bf16_native(device):
        return "bf16"
    warn_line(f"train.amp {requested} runs as none on this {device.type} (no native {requested})")
    return "none"


@dataclass
class TrainResult:
    run_dir: Path
    model_path: Path
    iters: int
    val: dict[str, float] = field(default_factory=dict)
    best: dict[str, Any] | None = None
    exported: list[Path] = field(default_factory=list)
    dropped_pairs: list[str] = field(default_factory=list)


def data_digest(folder: Path) -> str:
    """sha256 of the training data manifest (pairs.jsonl when present, else file names and sizes)."""
    folder = Path(folder)
    h = hashlib.sha256()
    manifest = folder / "pairs.jsonl"
    if manifest.is_file():
        h.update(manifest.read_bytes())
    else:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(f"{path.relative_to(folder)}\t{path.stat().st_size}\n".encode())
    return h.hexdigest()


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DDP) else model


def build_generator(cfg: dict[str, Any]) -> tuple[nn.Module, dict[str, Any]]:
    from realsr_cli.archs import arch_args, build_arch

    args = dict(cfg.get("arch_args") or {})
    try:
        model = build_arch(cfg["arch"], scale=int(cfg["scale"]), **args)
    except RealSRError:
        raise
    except Exception as exc:  # noqa: BLE001 - impossible sizes (num_feat: -4) are one line naming the setting
        raise PresetError(f"arch_args {args}: cannot build {cfg['arch']} ({error_text(exc)[:200]})") from None
    return model, arch_args(cfg["arch"], int(cfg["scale"]), **args)


def build_discriminator(cfg: dict[str, Any]) -> nn.Module:
    from realsr_cli.archs import arch_spec, build_arch

    dcfg = cfg.get("discriminator") or {}
    name = dcfg.get("arch", "vgg128")
    if arch_spec(name).kind != "discriminator":
        raise InputError(f"discriminator.arch {name!r} is not a discriminator")
    args = dict(dcfg.get("args") or {})
    if arch_spec(name).defaults.get("input_size") and "input_size" not in args:
        args["input_size"] = int(cfg["data"]["patch_size"])
    return build_arch(name, **args)


def load_init(model: nn.Module, path: str | Path, cfg: dict[str, Any]) -> None:
    """Start the generator from ``path`` (any model file of one of this tool's architectures: model.pt, a
    BasicSR/ESRGAN weights file, a zoo name, a URL, ``default``); other architectures are refused naming the file."""
    from realsr_cli.models.loading import load_model

    src, info = load_model(path, "cpu", scale=int(cfg["scale"]), purpose="train-sr --init")
    try:
        model.load_state_dict(src.state_dict())
    except RuntimeError:
        have = f"{info.arch} {info.arch_args} x{info.scale}"
        raise InputError(f"{path}: weights ({have}) do not fit {cfg['arch']} x{cfg['scale']}") from None


def make_dataset(data_dir: Path, cfg: dict[str, Any], seed: int):
    data, scale = cfg["data"], int(cfg["scale"])
    patch, flip, rot = int(data["patch_size"]), bool(data["flip"]), bool(data["rot90"])
    if data.get("degrade_preset"):
        from realsr_cli.degradations.pipeline import Degradation, check_sources_used
        from realsr_cli.degradations.recipe_schema import KERNELS, NOISE_PATCHES

        folders = {KERNELS: data.get("kernels_dir"), NOISE_PATCHES: data.get("noise_dir")}
        deg = Degradation.from_preset(data["degrade_preset"], folders[KERNELS], folders[NOISE_PATCHES])
        check_sources_used(deg, folders, {KERNELS: "data.kernels_dir", NOISE_PATCHES: "data.noise_dir"})
        return DegradedPatches(data_dir, deg, scale, patch, seed, flip, rot)
    return PairedPatches(data_dir, scale, patch, seed, flip, rot, min_psnr=data.get("min_pair_psnr"))


class Trainer:
    """One training run; ``run()`` trains up to ``train.iters`` (or ``stop_after``) and writes the outputs."""

    def __init__(
        self,
        data_dir: Path,
        run_dir: Path,
        cfg: dict[str, Any],
        *,
        val_dir: str | Path | None = None,
        device: str = "auto",
        seed: int = 0,
        resume: bool = False,
        init: str | Path | None = None,
        vgg_weights: str | Path | None = None,
        quiet: bool = False,
        overwrite: bool = False,
        iters: int | None = None,
    ) -> None:
        self.data_dir, self.run_dir, self.val_dir = Path(data_dir), Path(run_dir), Path(val_dir) if val_dir else None
        self.quiet, self.seed = quiet, int(seed)
        self.overwrite, self.resumed = bool(overwrite), bool(resume)
        self.ckpt_path = self.run_dir / "checkpoints" / "latest.pt"
        state = None
        if resume:  # the interrupted run's configuration and length; ``iters`` (--iters) may change the length
            state = load_state(self.ckpt_path)
            cfg = state["config"]
            if iters is not None:
                cfg["train"]["iters"] = int(iters)
            validate(cfg)
            self.seed = int(state["seed"])
        elif not overwrite and (self.ckpt_path.exists() or (self.run_dir / "model.pt").exists()):
            raise OutputExistsError(f"{self.run_dir}: holds a training run; pass --resume or --overwrite")
        self.cfg = cfg
        self.dev = resolve_device(device)
        self.dist = distx.init_distributed(self.dev.type)
        if self.dist.enabled and self.dev.type == "cuda":
            self.dev = torch.device("cuda", self.dist.local_rank)
        seed_everything(self.seed + self.dist.rank)
        tcfg = cfg["train"]
        self.amp = training_amp(str(tcfg["amp"]).lower(), self.dev)
        self.channels_last = bool(tcfg["channels_last"]) and self.dev.type == "cuda"
        self.scale = int(cfg["scale"])

        self.net_g, self.arch_args = build_generator(cfg)
        init_path = init or cfg.get("init")
        if init_path and state is None:
            load_init(self.net_g, init_path, cfg)
        self.net_g.to(self.dev)
        self.losses: LossSet = build_losses(cfg["losses"], vgg_weights=vgg_weights).to(self.dev)
        self.gt_usm = bool(cfg["losses"].get("gt_usm", False))
        self.net_d = build_discriminator(cfg).to(self.dev) if self.losses.gan else None
        if self.channels_last:
            self.net_g.to(memory_format=torch.channels_last)
            if self.net_d is not None:
                self.net_d.to(memory_format=torch.channels_last)
        self.ema = ModelEMA(self.net_g, float(tcfg["ema_decay"])) if float(tcfg["ema_decay"]) > 0 else None

        self.opt_g = build_optimizer(self.net_g.parameters(), tcfg, float(tcfg["lr"]))
        self.sched_g = build_scheduler(self.opt_g, tcfg["scheduler"])
        self.opt_d: torch.optim.Optimizer | None = None
        self.sched_d: LRScheduler | None = None
        if self.net_d is not None:
            self.opt_d = build_optimizer(self.net_d.parameters(), tcfg, float(tcfg["lr_d"]))
            self.sched_d = build_scheduler(self.opt_d, tcfg["scheduler"])
        fp16 = self.amp == "fp16"
        self.scaler_g = torch.amp.GradScaler("cuda", enabled=fp16)
        self.scaler_d = torch.amp.GradScaler("cuda", enabled=fp16)
        self.iter = 0
        self.best: dict[str, Any] | None = None
        if state is not None:
            self._restore(state)
        if self.dist.enabled:
            ids = [self.dev.index] if self.dev.type == "cuda" else None
            self.net_g = DDP(self.net_g, device_ids=ids)
            if self.net_d is not None:
                self.net_d = DDP(self.net_d, device_ids=ids)
        self.dataset = self._make_dataset()
        self.augment = BatchAugment(cfg["data"].get("augment"), self.seed)
        self.val_set = load_validation_set(self.val_dir) if self.val_dir else []
        best = self._best_metric_name()
        if self.val_dir and self.val_set:
            check_validation(self.val_dir, self.val_set, best, self.scale)
        has_gt = all(item.hr is not None for item in self.val_set)
        # built before training so that missing LPIPS weights fail fast, not at the first validation
        want_lpips = bool(self.val_set) and has_gt and bool(tcfg.get("val_lpips")) and self.dist.main
        self.lpips = self._lpips() if want_lpips else None
        self.val_metrics = validation_metrics(self.val_set, best, self.lpips is not None) if self.val_set else ()
        self._tb: Any = None  # a tensorboard SummaryWriter when tensorboard is installed

    def _make_dataset(self):
        """The training samples (make-pairs crops or on-the-fly degraded HR crops)."""
        if self.cfg.get("mode", "paired") != "paired":
            raise InputError(f"mode {self.cfg['mode']}: train with realsr_cli.train.cyclesr (train-sr --real-lr)")
        return make_dataset(self.data_dir, self.cfg, self.seed)

    # ----------------------------------------------------------------- state
    def _restore(self, state: dict[str, Any]) -> None:
        """Load a checkpoint's states; one that does not fit the run it names is an ``InputError``."""
        try:
            self._load_states(state)
        except (KeyError, RuntimeError, ValueError, TypeError, IndexError) as exc:
            problem = error_text(exc)[:200]
            raise InputError(f"{self.ckpt_path}: checkpoint does not fit its run ({problem})") from None

    def _load_states(self, state: dict[str, Any]) -> None:
        self.net_g.load_state_dict(state["net_g"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.sched_g.load_state_dict(state["sched_g"])
        self.scaler_g.load_state_dict(state["scaler_g"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        if (d := self._discriminator()) is not None:
            d[0].load_state_dict(state["net_d"])
            d[1].load_state_dict(state["opt_d"])
            d[2].load_state_dict(state["sched_d"])
            self.scaler_d.load_state_dict(state["scaler_d"])
        self.iter = int(state["iter"])
        self.best = state.get("best")
        set_rng_state(state["rng"])

    def _save_checkpoint(self) -> None:
        save_state(self.ckpt_path, self._checkpoint_state())

    def _checkpoint_state(self) -> dict[str, Any]:
        """Everything ``--resume`` restores (subclasses add their own networks' states)."""
        state: dict[str, Any] = {
            "iter": self.iter,
            "seed": self.seed,
            "config": self.cfg,
            "best": self.best,
            "net_g": _unwrap(self.net_g).state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "sched_g": self.sched_g.state_dict(),
            "scaler_g": self.scaler_g.state_dict(),
        }
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        if (d := self._discriminator()) is not None:
            state.update(
                net_d=_unwrap(d[0]).state_dict(),
                opt_d=d[1].state_dict(),
                sched_d=d[2].state_dict(),
                scaler_d=self.scaler_d.state_dict(),
            )
        return state

    def _discriminator(self) -> tuple[nn.Module, torch.optim.Optimizer, LRScheduler] | None:
        """D, its optimiser and its schedule (None without an adversarial loss)."""
        if self.net_d is None or self.opt_d is None or self.sched_d is None:
            return None
        return self.net_d, self.opt_d, self.sched_d

    def _save_model(self, path: Path, val: dict[str, float], overwrite: bool = True) -> Path:
        from realsr_cli.models.checkpoint import save_model

        meta = {
            "tool": "realsr",
            "version": __version__,
            "preset": self.cfg.get("name"),
            "config": self.cfg,
            "iters": self.iter,
            "seed": self.seed,
            "data": str(self.data_dir),
            "data_digest": data_digest(self.data_dir),
            "val": val,
        }
        ema = self.ema.state_dict() if self.ema is not None else None
        model = _unwrap(self.net_g)
        return save_model(
            path,
            model,
            arch=self.cfg["arch"],
            arch_args=self.arch_args,
            scale=self.scale,
            meta=meta,
            ema_state=ema,
            overwrite=overwrite,
        )

    # ----------------------------------------------------------------- steps
    def _autocast(self):
        if self.amp == "none":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.dev.type, dtype=AMP_DTYPES[self.amp])

    def _apply_finetune(self) -> None:
        """RFDN-style second phase: from ``finetune.start_iter`` the pixel loss and a constant lr change."""
        ft = self.cfg["train"].get("finetune")
        if not ft or self.iter < int(ft["start_iter"]):
            return
        if "pix" in self.losses.terms and ft.get("pixel"):
            weight = self.losses.terms["pix"][1]
            self.losses.terms["pix"] = (pixel_loss(ft["pixel"]), weight)
        if ft.get("lr") is not None:
            for group in self.opt_g.param_groups:
                group["lr"] = float(ft["lr"])

    def _step(self, lr: Tensor, hr: Tensor, mask: Tensor | None = None) -> dict[str, float]:
        """One G (and D) update; ``mask`` (cutout) restricts the reconstruction losses to its non-zero pixels."""
        logs: dict[str, float] = {}
        net_d, gan = self.net_d, self.losses.gan
        target = usm_sharp(hr) if self.gt_usm else hr
        if net_d is not None:
            for p in net_d.parameters():
                p.requires_grad_(False)
        self.opt_g.zero_grad(set_to_none=True)
        with self._autocast():
            sr = self.net_g(lr)
        if mask is None:
            terms = self.losses.reconstruction(sr.float(), target)
        else:
            terms = self.losses.reconstruction(sr.float() * mask, target * mask)
        if gan is not None and net_d is not None:
            d_plain = _unwrap(net_d)
            with self._autocast():
                d_fake = d_plain(sr)
                d_real = d_plain(hr).detach() if gan.gan_type == "relativistic" else None
            terms["l_g_gan"] = gan.generator_loss(d_fake.float(), None if d_real is None else d_real.float())
        total = functools.reduce(operator.add, terms.values())  # the losses are never empty (build_losses)
        self.scaler_g.scale(total).backward()
        clip = float(self.cfg["train"]["grad_clip"])
        if clip > 0:
            self.scaler_g.unscale_(self.opt_g)
            logs["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(self.net_g.parameters(), clip))
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()
        if self.ema is not None:
            self.ema.update(_unwrap(self.net_g))
        logs.update({k: float(v.detach()) for k, v in terms.items()})
        logs["l_total"] = float(total.detach())

        if net_d is not None and gan is not None and self.opt_d is not None:
            for p in net_d.parameters():
                p.requires_grad_(True)
            self.opt_d.zero_grad(set_to_none=True)
            fake = sr.detach()
            fake_ref = None
            if gan.gan_type == "relativistic":
                with torch.no_grad(), self._autocast():
                    fake_ref = _unwrap(net_d)(fake).float()
            with self._autocast():
                d_real = net_d(hr).float()
            l_real = gan.d_real_loss(d_real, fake_ref)
            self.scaler_d.scale(l_real).backward()
            with self._autocast():
                d_fake = net_d(fake).float()
            l_fake = gan.d_fake_loss(d_fake, d_real.detach())
            self.scaler_d.scale(l_fake).backward()
            self.scaler_d.step(self.opt_d)
            self.scaler_d.update()
            logs.update(l_d_real=float(l_real.detach()), l_d_fake=float(l_fake.detach()))
            logs.update(out_d_real=float(d_real.detach().mean()), out_d_fake=float(d_fake.detach().mean()))
        return logs

    def _train_batch(self, batch: dict[str, Tensor]) -> dict[str, float]:
        """One iteration on a DataLoader batch (batch augmentation, then :meth:`_step`); its logs."""
        lr, hr = batch["lr"].to(self.dev, non_blocking=True), batch["hr"].to(self.dev, non_blocking=True)
        aug = self.augment(lr, hr, self.iter * self.dist.world + self.dist.rank)
        lr, hr = aug.lr, aug.hr
        if self.channels_last:
            lr, hr = lr.contiguous(memory_format=torch.channels_last), hr.contiguous(memory_format=torch.channels_last)
        return self._step(lr, hr, aug.mask)

    # ------------------------------------------------------------ validation
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Mean validation metrics (``self.val_metrics``) of the EMA (else the raw) generator."""
        model = self.ema.model if self.ema is not None else _unwrap(self.net_g)
        was_training = model.training
        model.eval()
        sums = dict.fromkeys(self.val_metrics, 0.0)
        for item in self.val_set:
            sr = model(item.lr[None].to(self.dev)).float().clamp(0, 1).cpu()
            for key, value in score_output(sr, item.hr, self.val_metrics, self.scale, self.lpips).items():
                sums[key] += value
        model.train(was_training)
        n = max(1, len(self.val_set))
        return {k: v / n for k, v in sums.items()}

    def _lpips(self):
        from realsr_cli.metrics.perceptual import LPIPS

        return LPIPS(net="alex", device="cpu")

    def _best_metric_name(self) -> str:
        """``train.best_metric``; LPIPS without ``val_lpips`` falls back to PSNR (documented)."""
        metric = str(self.cfg["train"].get("best_metric", "psnr"))
        return "psnr" if metric == "lpips" and not self.cfg["train"].get("val_lpips") else metric

    def _best_metric(self, val: dict[str, float]) -> str:
        metric = self._best_metric_name()
        return metric if metric in val else "psnr"

    def _is_better(self, val: dict[str, float]) -> bool:
        metric = self._best_metric(val)
        if metric not in val or math.isnan(val[metric]):
            return False
        if self.best is None or self.best["metric"] != metric:
            return True
        if lower_is_better(metric):
            return val[metric] < self.best["value"]
        return val[metric] > self.best["value"]

    # ------------------------------------------------------------------- run
    def _log(self, record: dict[str, Any]) -> None:
        if not self.dist.main:
            return
        with open(self.run_dir / "log.jsonl", "a", encoding="utf-8") as fh:
            fh.write(dumps_json_line(record) + "\n")
        if self._tb is not None:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key != "iter":
                    self._tb.add_scalar(key, value, record["iter"])

    def _write_curves(self) -> None:
        """``curves.png`` (losses and validation metrics against iterations) beside ``log.jsonl``."""
        from realsr_cli.figures.curves import write_curves

        log = self.run_dir / "log.jsonl"
        try:
            if log.is_file():
                write_curves(log, self.run_dir / "curves.png")
        except Exception as exc:  # noqa: BLE001 - a figure must never lose a finished training run
            warn_line(f"{self.run_dir / 'curves.png'}: not written ({type(exc).__name__}: {exc})")

    def _open_tensorboard(self) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is optional
            return
        self._tb = SummaryWriter(str(self.run_dir / "tb"))

    def _loader(self, stop: int) -> DataLoader:
        data = self.cfg["data"]
        sampler = StepSampler(self.iter, stop, int(data["batch_size"]), self.dist.rank, self.dist.world)
        workers = int(data.get("workers", 0))
        return DataLoader(
            self.dataset,
            batch_size=int(data["batch_size"]),
            sampler=sampler,
            num_workers=workers,
            pin_memory=self.dev.type == "cuda",
            persistent_workers=False,
            prefetch_factor=2 if workers > 0 else None,
        )

    def run(self, stop_after: int | None = None) -> TrainResult:
        tcfg = self.cfg["train"]
        total = int(tcfg["iters"])
        stop = min(total, stop_after) if stop_after else total
        if self.dist.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            # created exclusively by a fresh run: it claims the folder, so two runs started together cannot share it
            text = yaml.safe_dump(self.cfg, sort_keys=False)
            atomic_write_text(self.run_dir / "config.yaml", text, overwrite=self.overwrite or self.resumed)
            self._open_tensorboard()
        log_every, val_every, save_every = int(tcfg["log_every"]), int(tcfg["val_every"]), int(tcfg["save_every"])
        self.net_g.train()
        if self.net_d is not None:
            self.net_d.train()
        val: dict[str, float] = {}
        start_time, start_iter = time.perf_counter(), self.iter
        with make_progress(self.quiet or not self.dist.main, transient=False) as progress:
            task = progress.add_task("train-sr", total=total, completed=self.iter, status="")
            for batch in self._loader(stop):
                self._apply_finetune()
                logs = self._train_batch(batch)
                self.iter += 1
                self.sched_g.step()
                if self.sched_d is not None:
                    self.sched_d.step()
                rate = (self.iter - start_iter) / max(1e-9, time.perf_counter() - start_time)
                if self.iter % log_every == 0 or self.iter == stop:
                    self._log(
                        {
                            "iter": self.iter,
                            "lr": self.opt_g.param_groups[0]["lr"],
                            "it_s": rate,
                            "time": time.perf_counter() - start_time,
                            **logs,
                        }
                    )
                progress.update(task, completed=self.iter, status=f"l_total {logs['l_total']:.4g}  {rate:.2f} it/s")
                if self.val_set and val_every > 0 and self.iter % val_every == 0:
                    val = self._validate_and_keep()
                if save_every > 0 and self.iter % save_every == 0 and self.dist.main:
                    self._save_checkpoint()
                    self._save_snapshot(val)
        if self.val_set and (not val or self.iter % max(val_every, 1) != 0):
            val = self._validate_and_keep()
        model_path = self.run_dir / "model.pt"
        if self.dist.main:
            self._save_checkpoint()
            if self.iter >= total:
                self._save_model(model_path, val, overwrite=self.overwrite or self.resumed)
            if self._tb is not None:
                self._tb.close()
            self._write_curves()
        distx.barrier(self.dist)
        dropped = [stem for stem, _ in getattr(self.dataset, "dropped", [])]
        return TrainResult(self.run_dir, model_path, self.iter, val, self.best, dropped_pairs=dropped)

    def _save_snapshot(self, val: dict[str, float]) -> None:
        """``snapshots/iter_NNNNNNN.pt`` (model.pt format), keeping the newest ``train.keep_snapshots``."""
        keep = int(self.cfg["train"].get("keep_snapshots", 0) or 0)
        if keep > 0:
            self._save_model(snapshot_path(self.run_dir, self.iter), val)
            prune_snapshots(self.run_dir, keep)

    def _validate_and_keep(self) -> dict[str, float]:
        val = self.validate() if self.dist.main else {}
        if self.dist.main:
            self._log({"iter": self.iter, **{f"val_{k}": v for k, v in val.items()}})
            if self._is_better(val):
                metric = self._best_metric(val)
                self.best = {"iter": self.iter, "metric": metric, "value": val[metric], "val": val}
                self._save_model(self.run_dir / "model_best.pt", val)
            info_line(f"iter {self.iter}: " + ", ".join(f"{k} {v:.4f}" for k, v in val.items()), quiet=self.quiet)
        distx.barrier(self.dist)
        return val


def train_sr(
    data_dir: str | Path,
    run_dir: str | Path,
    cfg: dict[str, Any],
    *,
    val_dir: str | Path | None = None,
    device: str = "auto",
    seed: int = 0,
    resume: bool = False,
    init: str | Path | None = None,
    vgg_weights: str | Path | None = None,
    quiet: bool = False,
    overwrite: bool = False,
    export: list[str] | None = None,
    stop_after: int | None = None,
    iters: int | None = None,
    trainer_cls: type[Trainer] | None = None,
) -> TrainResult:
    """Train an SR network on ``data_dir`` into ``run_dir`` (library entry point of ``realsr train-sr``).

    With ``resume`` the run continues with the configuration saved in its checkpoint, to its own length unless
    ``iters`` gives a new total. ``trainer_cls``: a :class:`Trainer` subclass (CycleSR's)."""
    from realsr_cli.train.export import export_weights

    trainer = (trainer_cls or Trainer)(
        Path(data_dir),
        Path(run_dir),
        cfg,
        val_dir=val_dir,
        device=device,
        seed=seed,
        resume=resume,
        init=init,
        vgg_weights=vgg_weights,
        quiet=quiet,
        overwrite=overwrite,
        iters=iters,
    )
    try:
        result = trainer.run(stop_after=stop_after)
        if trainer.dist.main and result.iters >= int(trainer.cfg["train"]["iters"]):
            for fmt in export or []:
                suffix = ".safetensors" if fmt == "safetensors" else ".pth"
                target = result.model_path.with_suffix(suffix)
                replace = trainer.overwrite or trainer.resumed
                result.exported.append(export_weights(result.model_path, target, fmt, overwrite=replace))
    finally:
        distx.shutdown(trainer.dist)
    return result


def summary(result: TrainResult) -> dict[str, Any]:
    return json.loads(
        json.dumps(
            {
                "run_dir": str(result.run_dir),
                "model": str(result.model_path),
                "iters": result.iters,
                "val": result.val,
                "best": result.best,
                "exported": [str(p) for p in result.exported],
                "dropped_pairs": result.dropped_pairs,
            }
        )
    )
