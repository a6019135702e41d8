"""Training loop for the learned degradations (DSGAN, CycleGAN): crops, steps, checkpoints, resume, model file.

Clean images are bicubic-downscaled by the scale (MATLAB imresize) to form domain X; source photos are domain Y.
Each iteration takes ``batch`` random ``patch``x``patch`` crops from each domain; crop positions come from
``item_rng(seed, "iter", i)`` so a resumed run sees the same crops as an uninterrupted one. The state
(networks, optimisers, iteration) is saved to OUT/learn_state.pt every ``checkpoint_every`` iterations and at the
end; OUT/degradation.pt holds the clean->source generator.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from realsr_cli.degradations.learned_model import build_generator, save_degradation_model
from realsr_cli.degradations.resize import imresize
from realsr_cli.device import bf16_native
from realsr_cli.errors import InputError
from realsr_cli.io.atomic import atomic_write_torch
from realsr_cli.io.tensors import to_tensor
from realsr_cli.learn.cyclegan import PatchDiscriminator, lsgan
from realsr_cli.learn.dsgan import DSGANDiscriminator, FilterLow, VGGPerceptual
from realsr_cli.seeding import item_rng

STATE_FILE = "learn_state.pt"
MODEL_FILE = "degradation.pt"


@dataclass
class GANConfig:
    method: str = "dsgan"
    iters: int = 2000
    batch: int = 8
    patch: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    n_res_blocks: int = 8
    channels: int = 64
    d_channels: int = 64
    # DSGAN
    filter_size: int = 5
    gaussian: bool = False
    w_col: float = 1.0
    w_tex: float = 0.005
    w_per: float = 0.01
    vgg_weights: str | None = None
    # CycleGAN
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5
    d_layers: int = 3
    checkpoint_every: int = 500
    amp: str = "auto"  # auto | none | bf16: bf16 autocast where the device computes bf16 natively (resolve_amp)
    extra: dict = field(default_factory=dict)

    @property
    def arch_args(self) -> dict:
        return {"n_res_blocks": self.n_res_blocks, "channels": self.channels}


class GANNets(nn.Module):
    """The networks of one method: G (+ G_back) and the discriminator(s); CycleSR's translator reuses them."""

    def __init__(self, c: GANConfig) -> None:
        super().__init__()
        self.g = build_generator(c.arch_args)
        if c.method == "dsgan":
            self.d = DSGANDiscriminator(c.filter_size, c.gaussian, c.d_channels)
        elif c.method == "cyclegan":
            self.g_back = build_generator(c.arch_args)
            self.d_y = PatchDiscriminator(c.d_channels, c.d_layers)
            self.d_x = PatchDiscriminator(c.d_channels, c.d_layers)
        else:
            raise InputError(f"--method {c.method}: expected dsgan or cyclegan")

    def g_params(self) -> list[nn.Parameter]:
        nets = [self.g] + ([self.g_back] if hasattr(self, "g_back") else [])
        return [p for n in nets for p in n.parameters()]

    def d_params(self) -> list[nn.Parameter]:
        nets = [self.d] if hasattr(self, "d") else [self.d_x, self.d_y]
        return [p for n in nets for p in n.parameters()]


AMP_MODES = ("auto", "none", "bf16")


def resolve_amp(mode: str, device: torch.device) -> str:
    """``bf16`` or ``none`` for ``--gan-amp`` (``auto``: bf16 where :func:`bf16_native`)."""
    if mode not in AMP_MODES:
        raise InputError(f"--gan-amp {mode}: expected one of {', '.join(AMP_MODES)}")
    if mode == "auto":
        return "bf16" if bf16_native(device) else "none"
    return mode


def autocast_for(amp: str, device: torch.device) -> Callable[[], AbstractContextManager]:
    """The forward passes' context: bf16 autocast (weights, optimiser and losses stay fp32) or nothing."""
    if amp == "bf16":
        return lambda: torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext


def _crops(images: list[Tensor], rng: np.random.Generator, batch: int, patch: int) -> Tensor:
    out = []
    for _ in range(batch):
        t = images[int(rng.integers(len(images)))]
        top = int(rng.integers(t.shape[1] - patch + 1))
        left = int(rng.integers(t.shape[2] - patch + 1))
        out.append(t[:, top : top + patch, left : left + patch])
    return torch.stack(out)


def _check_sizes(images: list[Tensor], names: list[str], patch: int, what: str) -> None:
    small = [f"{n} ({t.shape[2]}x{t.shape[1]})" for t, n in zip(images, names, strict=True) if min(t.shape[1:]) < patch]
    if small:
        raise InputError(
            f"{what} smaller than the {patch}x{patch} training patch: {', '.join(small)} (use --patch-size)"
        )


def check_patch(nets: GANNets, c: GANConfig) -> None:
    """Fail early, with the option to change, when the discriminator cannot see a ``patch``-sized crop."""
    d = nets.d if hasattr(nets, "d") else nets.d_y
    try:
        with torch.no_grad():
            d.eval()(torch.zeros(1, 3, c.patch, c.patch))
    except (RuntimeError, ValueError):
        raise InputError(
            f"--patch-size {c.patch} is too small for the {c.method} discriminator (try --patch-size 32)"
        ) from None
    finally:
        d.train()


def train_degradation(
    source: list[np.ndarray],
    clean: list[np.ndarray],
    scale: int,
    out_dir: Path,
    config: GANConfig,
    *,
    source_names: list[str] | None = None,
    clean_names: list[str] | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Train DSGAN or CycleGAN; images are float (H, W, 3) in [0, 1]. Returns a summary dict. The model file is
    created exclusively unless ``overwrite`` (a resumed run replaces its own)."""
    c = config
    device = torch.device(device)
    start_time = time.perf_counter()
    ys = [to_tensor(im, batch=False) for im in source]
    xs = [imresize(to_tensor(im), scale=1.0 / scale)[0].clamp(0, 1) for im in clean]
    _check_sizes(ys, source_names or [str(i) for i in range(len(ys))], c.patch, "source image(s)")
    _check_sizes(xs, clean_names or [str(i) for i in range(len(xs))], c.patch, f"clean image(s) after x1/{scale}")
    torch.manual_seed(seed)
    amp = resolve_amp(c.amp, device)
    cast = autocast_for(amp, device)
    nets = GANNets(c).to(device)
    check_patch(nets, c)
    nets = nets.to(memory_format=torch.channels_last)  # oneDNN's and cuDNN's fast path for these convolutions
    opt_g = torch.optim.Adam(nets.g_params(), lr=c.lr, betas=(c.beta1, 0.999))
    opt_d = torch.optim.Adam(nets.d_params(), lr=c.lr, betas=(c.beta1, 0.999))
    start = 0
    state_path = out_dir / STATE_FILE
    if resume:
        start = _load_state(state_path, c, nets, opt_g, opt_d)
    perceptual = None
    if c.method == "dsgan" and c.w_per > 0:
        perceptual = VGGPerceptual(c.vgg_weights).to(device).to(memory_format=torch.channels_last)
        if amp == "bf16":  # frozen: cast once, not at every autocast call
            perceptual = perceptual.to(torch.bfloat16)
    low = FilterLow(c.filter_size, c.gaussian).to(device)
    last: dict[str, float] = {}
    for it in range(start, c.iters):
        rng = item_rng(seed, "iter", it)
        x = _crops(xs, rng, c.batch, c.patch).to(device, memory_format=torch.channels_last)
        y = _crops(ys, rng, c.batch, c.patch).to(device, memory_format=torch.channels_last)
        if c.method == "dsgan":
            last = _dsgan_step(nets, opt_g, opt_d, x, y, low, perceptual, c, cast)
        else:
            last = cyclegan_step(nets, opt_g, opt_d, x, y, c, cast=cast)[0]
        done = it + 1
        if done % c.checkpoint_every == 0 or done == c.iters:
            _save_state(state_path, c, nets, opt_g, opt_d, done)
        if progress is not None:
            progress(done)
    meta = {"config": asdict(c), "iterations": c.iters, "seed": seed, "final_losses": last, "amp": amp}
    save_degradation_model(
        out_dir / MODEL_FILE,
        nets.g.cpu().to(memory_format=torch.contiguous_format),
        method=c.method,
        arch_args=c.arch_args,
        scale=scale,
        meta=meta,
        overwrite=overwrite or resume,
    )
    return {
        "method": c.method,
        "iterations": c.iters,
        "amp": amp,
        "resumed_from": start,
        "seconds": round(time.perf_counter() - start_time, 3),
        "final_losses": last,
        "model": str(out_dir / MODEL_FILE),
    }


def _dsgan_step(nets, opt_g, opt_d, x, y, low, perceptual, c: GANConfig, cast=nullcontext) -> dict[str, float]:
    """One D then G update (DSGAN train.py's order); forward passes under ``cast``, losses in fp32."""
    with cast():
        fake = nets.g(x)
        d_real, d_fake = nets.d(y), nets.d(fake.detach())
    # D on high frequencies of real source crops and generated crops
    opt_d.zero_grad(set_to_none=True)
    loss_d = -(d_real.float() + 1e-8).log().mean() - (1 - d_fake.float() + 1e-8).log().mean()
    loss_d.backward()
    opt_d.step()
    # G: colour (low), texture (high, GAN), perceptual; D frozen (its gradients here would be discarded by the next
    # D step's zero_grad: the same numbers, without computing them)
    opt_g.zero_grad(set_to_none=True)
    nets.d.requires_grad_(False)
    with cast():
        d_gen = nets.d(fake)
        loss_per = perceptual(fake, x) if perceptual is not None else fake.new_zeros(())
    loss_col = F.l1_loss(low(fake.float()), low(x))
    loss_tex = -(d_gen.float() + 1e-8).log().mean()
    loss_g = c.w_col * loss_col + c.w_tex * loss_tex + c.w_per * loss_per.float()
    loss_g.backward()
    nets.d.requires_grad_(True)
    opt_g.step()
    return {"d": loss_d.item(), "g": loss_g.item(), "colour": loss_col.item(), "texture": loss_tex.item()}


def cyclegan_step(
    nets: GANNets,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    x: Tensor,
    y: Tensor,
    c: GANConfig,
    extra_g: Callable[[Tensor], Tensor] | None = None,
    cast: Callable[[], AbstractContextManager] = nullcontext,
) -> tuple[dict[str, float], Tensor]:
    """One CycleGAN G then D update; ``extra_g(G(x))`` (CycleSR's SR loss) is added to the generators' loss.
    Forward passes under ``cast`` (losses in fp32). Returns the logs and G(x), detached."""
    for p in nets.d_params():
        p.requires_grad_(False)
    opt_g.zero_grad(set_to_none=True)
    with cast():
        fake_y, fake_x = nets.g(x), nets.g_back(y)
        judged = nets.d_y(fake_y), nets.d_x(fake_x)
        cycled = nets.g_back(fake_y), nets.g(fake_x)
        same = nets.g(y), nets.g_back(x)
    fake_y, fake_x = fake_y.float(), fake_x.float()
    loss_gan = lsgan(judged[0].float(), True) + lsgan(judged[1].float(), True)
    loss_cycle = F.l1_loss(cycled[0].float(), x) + F.l1_loss(cycled[1].float(), y)
    loss_id = F.l1_loss(same[0].float(), y) + F.l1_loss(same[1].float(), x)
    loss_g = loss_gan + c.lambda_cycle * loss_cycle + c.lambda_cycle * c.lambda_identity * loss_id
    loss_extra = extra_g(fake_y) if extra_g is not None else None
    if loss_extra is not None:
        loss_g = loss_g + loss_extra
    loss_g.backward()
    opt_g.step()
    for p in nets.d_params():
        p.requires_grad_(True)
    opt_d.zero_grad(set_to_none=True)
    with cast():
        dy = nets.d_y(y).float(), nets.d_y(fake_y.detach()).float()
        dx = nets.d_x(x).float(), nets.d_x(fake_x.detach()).float()
    loss_dy = 0.5 * (lsgan(dy[0], True) + lsgan(dy[1], False))
    loss_dx = 0.5 * (lsgan(dx[0], True) + lsgan(dx[1], False))
    (loss_dy + loss_dx).backward()
    opt_d.step()
    logs = {"g": loss_g.item(), "cycle": loss_cycle.item(), "d_y": loss_dy.item(), "d_x": loss_dx.item()}
    if loss_extra is not None:
        logs["extra"] = loss_extra.item()
    return logs, fake_y.detach()


def _save_state(path: Path, c: GANConfig, nets, opt_g, opt_d, iteration: int) -> None:
    obj = {
        "format": "realsr-learn-state",
        "method": c.method,
        "arch_args": c.arch_args,
        "iteration": iteration,
        "nets": nets.state_dict(),
        "opt_g": opt_g.state_dict(),
        "opt_d": opt_d.state_dict(),
    }
    atomic_write_torch(path, obj)


def _load_state(path: Path, c: GANConfig, nets, opt_g, opt_d) -> int:
    if not path.is_file():
        raise InputError(f"{path}: nothing to resume (no training state in the output folder)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - an unreadable state file is one line naming it
        raise InputError(f"{path}: unreadable training state ({type(exc).__name__})") from None
    if not isinstance(obj, dict) or any(k not in obj for k in ("nets", "opt_g", "opt_d", "iteration")):
        raise InputError(f"{path}: not a complete learn-degradation training state")
    if obj.get("format") != "realsr-learn-state" or obj.get("method") != c.method:
        raise InputError(f"{path}: saved state is for --method {obj.get('method')}, not {c.method}")
    if obj.get("arch_args") != c.arch_args:
        raise InputError(f"{path}: saved generator {obj.get('arch_args')} differs from the options {c.arch_args}")
    nets.load_state_dict(obj["nets"])
    opt_g.load_state_dict(obj["opt_g"])
    opt_d.load_state_dict(obj["opt_d"])
    return int(obj["iteration"])
