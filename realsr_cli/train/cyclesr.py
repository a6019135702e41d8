"""CycleSR / CycleSRGAN: the translator and the SR network trained together (``train-sr --preset cyclesr``).

Chen et al., "Unsupervised Image Super-Resolution with an Indirect Supervised Path", CVPRW 2020; the authors' code
is huawei-noah/vega (``CycleSRModel.optimize_CycleSR``). The *indirect supervised path*: the synthetic LR of an HR
crop (MATLAB bicubic, Gaussian noise added after downsampling, :mod:`realsr_cli.train.cyclesr_data`) is translated
to the real-LR domain by CycleGAN's clean->real generator G (learn-degradation's translator,
:func:`realsr_cli.learn.gan_training.cyclegan_step`), and the SR network learns G(x) -> HR. Iterations, as vega:

* ``translator`` phase (``cyclesr.pretrain_translator``): CycleGAN alone (LSGAN, cycle 10, identity 0.5 x 10);
* ``sr`` phase (``cyclesr.pretrain_sr``): the SR network alone on G(x), G frozen;
* ``joint`` phase (the rest): each iteration a translator step whose generator loss adds
  ``lambda_SR->trans * L_SR(SR(G(x)), HR)`` (the SR loss back-propagated through the frozen SR network into G),
  then an SR step on the detached G(x) with the preset's losses (L1; CycleSRGAN: + perceptual + adversarial).

Everything else is :class:`realsr_cli.train.trainer.Trainer`'s: EMA, schedules, validation, ``log.jsonl``,
``checkpoints/latest.pt`` (plus the translator's networks, optimisers and schedulers), ``--resume``. Outputs:
``RUN/model.pt`` (the SR network) and ``RUN/translator.pt`` (G, a ``realsr-degradation`` file for
``make-pairs --degradation-model``; its ``meta.input_noise_sigma`` makes make-pairs add the same input noise).
"""

from __future__ import annotations

import copy
import functools
import operator
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from realsr_cli.batch import error_text
from realsr_cli.degradations.learned_model import save_degradation_model
from realsr_cli.errors import InputError
from realsr_cli.learn.gan_training import GANNets, check_patch, cyclegan_step
from realsr_cli.train.cyclesr_config import cyclesr_section, cyclesr_settings
from realsr_cli.train.cyclesr_data import CycleSRPatches
from realsr_cli.train.schedules import build_scheduler
from realsr_cli.train.state import load_state
from realsr_cli.train.trainer import Trainer, TrainResult, _unwrap, summary, train_sr
from realsr_cli.train.usm import usm_sharp

TRANSLATOR_FILE = "translator.pt"


@dataclass
class CycleSRResult(TrainResult):
    translator_path: Path | None = None


class CycleSRTrainer(Trainer):
    """The SR trainer plus the CycleGAN translator and the three phases."""

    def __init__(self, data_dir: Path, run_dir: Path, cfg: dict[str, Any], **kwargs: Any) -> None:
        self._translator_state: dict[str, Any] | None = None
        super().__init__(data_dir, run_dir, cfg, **kwargs)
        if self.dist.enabled:
            raise InputError("mode cyclesr trains in one process (run it without torchrun)")
        self.cs = cyclesr_settings(self.cfg)
        data = self.cfg["data"]
        self.gan_cfg = self.cs.gan_config(int(data["batch_size"]), int(data["patch_size"]) // self.scale)
        with torch.random.fork_rng(devices=[]):  # its own seed: the SR run's random stream stays untouched
            torch.manual_seed(self.seed + 0x5EED)
            nets = GANNets(self.gan_cfg)
        self._check_translator_patch(nets)
        self.trans = nets.to(self.dev)
        betas = (self.gan_cfg.beta1, 0.999)
        self.opt_t = torch.optim.Adam(self.trans.g_params(), lr=self.gan_cfg.lr, betas=betas)
        self.opt_td = torch.optim.Adam(self.trans.d_params(), lr=self.gan_cfg.lr, betas=betas)
        self.sched_t = build_scheduler(self.opt_t, self.cfg["train"]["scheduler"])
        self.sched_td = build_scheduler(self.opt_td, self.cfg["train"]["scheduler"])
        if self._translator_state is not None:
            self._load_translator(self._translator_state)

    def _check_translator_patch(self, nets: GANNets) -> None:
        try:
            check_patch(nets, self.gan_cfg)
        except InputError:
            size, layers = self.cfg["data"]["patch_size"], self.gan_cfg.d_layers
            raise InputError(
                f"--patch-size {size} (LR crop {self.gan_cfg.patch}) is too small for the translator's discriminator "
                f"(cyclesr.translator.d_layers {layers}): raise --patch-size or lower d_layers"
            ) from None

    # ------------------------------------------------------------------ data and state
    def _make_dataset(self) -> CycleSRPatches:
        cs, data = cyclesr_settings(self.cfg), self.cfg["data"]
        if not cs.real_lr:
            raise InputError("mode cyclesr needs the camera's real LR photos: --real-lr DIR")
        patch, flip, rot = int(data["patch_size"]), bool(data["flip"]), bool(data["rot90"])
        return CycleSRPatches(self.data_dir, Path(cs.real_lr), self.scale, patch, self.seed, cs.noise_sigma, flip, rot)

    def _checkpoint_state(self) -> dict[str, Any]:
        state = super()._checkpoint_state()
        state["translator"] = {
            "nets": self.trans.state_dict(),
            "opt_g": self.opt_t.state_dict(),
            "opt_d": self.opt_td.state_dict(),
            "sched_g": self.sched_t.state_dict(),
            "sched_d": self.sched_td.state_dict(),
        }
        return state

    def _load_states(self, state: dict[str, Any]) -> None:
        if "translator" not in state:
            raise KeyError("translator (not a cyclesr checkpoint)")
        self._translator_state = state["translator"]  # loaded once the translator exists
        super()._load_states(state)

    def _load_translator(self, state: dict[str, Any]) -> None:
        try:
            self.trans.load_state_dict(state["nets"])
            self.opt_t.load_state_dict(state["opt_g"])
            self.opt_td.load_state_dict(state["opt_d"])
            self.sched_t.load_state_dict(state["sched_g"])
            self.sched_td.load_state_dict(state["sched_d"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise InputError(f"{self.ckpt_path}: translator state does not fit ({error_text(exc)[:200]})") from None

    # ------------------------------------------------------------------ steps
    def _train_batch(self, batch: dict[str, Tensor]) -> dict[str, float]:
        x, hr, real = (batch[k].to(self.dev, non_blocking=True) for k in ("lr", "hr", "real"))
        phase = self.cs.phase(self.iter)
        logs: dict[str, Any] = {"phase": phase}
        if phase == "sr":
            with torch.no_grad():
                fake = self.trans.g(x)
        else:
            lam = self.cs.sr_to_translator if phase == "joint" else 0.0
            extra = self._sr_loss_for_translator(hr, lam) if lam > 0 else None
            t_logs, fake = cyclegan_step(self.trans, self.opt_t, self.opt_td, x, real, self.gan_cfg, extra)
            logs.update(_translator_logs(t_logs))
        self.sched_t.step()
        self.sched_td.step()
        if phase == "translator":
            return {**logs, "l_total": logs["l_trans_g"]}
        if self.channels_last:
            fake, hr = (
                fake.contiguous(memory_format=torch.channels_last),
                hr.contiguous(memory_format=torch.channels_last),
            )
        return {**logs, **self._step(fake, hr)}

    def _sr_loss_for_translator(self, hr: Tensor, weight: float):
        """``G(x) -> weight * sum of the SR reconstruction losses``, through the SR network with its weights frozen."""
        net = _unwrap(self.net_g)
        target = usm_sharp(hr) if self.gt_usm else hr

        def loss(fake: Tensor) -> Tensor:
            for p in net.parameters():
                p.requires_grad_(False)
            try:
                sr = net(fake).float()
                return weight * functools.reduce(operator.add, self.losses.reconstruction(sr, target).values())
            finally:
                for p in net.parameters():
                    p.requires_grad_(True)

        return loss

    # ------------------------------------------------------------------ outputs
    def run(self, stop_after: int | None = None) -> CycleSRResult:
        with warnings.catch_warnings():  # the SR schedule advances in the translator phase, before its first step
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)` before")
            result = CycleSRResult(**vars(super().run(stop_after)))
        if self.iter >= int(self.cfg["train"]["iters"]):
            result.translator_path = self._save_translator()
        return result

    def _save_translator(self) -> Path:
        meta = {
            "tool": "realsr train-sr",
            "input_noise_sigma": self.cs.noise_sigma,
            "iterations": self.iter,
            "seed": self.seed,
            "cyclesr": self.cfg.get("cyclesr"),
        }
        return save_degradation_model(
            self.run_dir / TRANSLATOR_FILE,
            self.trans.g,
            method="cyclesr",
            arch_args=self.gan_cfg.arch_args,
            scale=self.scale,
            meta=meta,
            overwrite=self.overwrite or self.resumed,
        )


def _translator_logs(t_logs: dict[str, float]) -> dict[str, float]:
    out = {"l_trans_g": t_logs["g"], "l_trans_cycle": t_logs["cycle"], "l_trans_d": t_logs["d_x"] + t_logs["d_y"]}
    if "extra" in t_logs:
        out["l_trans_sr"] = t_logs["extra"]
    return out


def run_mode(cfg: dict[str, Any], run_dir: str | Path, resume: bool) -> str:
    """``paired`` or ``cyclesr``: the preset's mode, or with ``resume`` that of the run's checkpoint."""
    ckpt = Path(run_dir) / "checkpoints" / "latest.pt"
    if resume and ckpt.is_file():
        return str(load_state(ckpt)["config"].get("mode", "paired"))
    return str(cfg.get("mode", "paired"))


def train_cyclesr(
    hr_dir: str | Path,
    run_dir: str | Path,
    cfg: dict[str, Any],
    *,
    real_lr: str | Path | None = None,
    resume: bool = False,
    **kwargs: Any,
) -> CycleSRResult:
    """Train CycleSR on the HR images of ``hr_dir`` and the real LR photos of ``real_lr`` into ``run_dir``.

    Keyword arguments are :func:`realsr_cli.train.trainer.train_sr`'s; with ``resume`` the run's saved
    configuration (real-LR folder included) is used."""
    if not resume:
        if cfg.get("mode") != "cyclesr":
            raise InputError(f"preset {cfg.get('name')}: not a cyclesr preset (mode: cyclesr)")
        real = real_lr or (cfg.get("cyclesr") or {}).get("real_lr")
        if not real:
            raise InputError(f"--preset {cfg.get('name')} needs the camera's real LR photos: --real-lr DIR")
        if not Path(real).is_dir():
            raise InputError(f"--real-lr {real}: folder not found")
        cfg = copy.deepcopy(cfg)
        cfg["cyclesr"] = {**cyclesr_section(cfg), "real_lr": str(Path(real).resolve())}
    result = train_sr(hr_dir, run_dir, cfg, resume=resume, trainer_cls=CycleSRTrainer, **kwargs)
    assert isinstance(result, CycleSRResult), "CycleSRTrainer.run returns a CycleSRResult"
    return result


def cyclesr_summary(result: TrainResult) -> dict[str, Any]:
    """:func:`realsr_cli.train.trainer.summary` plus the translator file."""
    path = getattr(result, "translator_path", None)
    return {**summary(result), "translator": None if path is None else str(path)}
