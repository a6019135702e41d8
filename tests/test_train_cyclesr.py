"""CycleSR joint training (train-sr --preset cyclesr --real-lr): the SR loss reaches the translator, noise order,
bit-exact resume, outputs, configuration and CLI errors. Tiny images and networks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from realsr_cli.errors import InputError, PresetError
from realsr_cli.io.images import write_image
from realsr_cli.train import cyclesr_data, load_train_config
from realsr_cli.train.cyclesr import CycleSRTrainer, train_cyclesr
from tests.conftest import synthetic_image

TINY = [
    "arch_args={num_feat: 4, num_block: 1}",
    "data.batch_size=2",
    "data.workers=0",
    "train.log_every=1",
    "train.save_every=0",
    "cyclesr.translator={n_res_blocks: 1, channels: 4, d_channels: 4, d_layers: 2}",
]


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    hr, real = tmp_path / "hr", tmp_path / "real"
    hr.mkdir()
    real.mkdir()
    for i in range(2):
        write_image(hr / f"h{i}.png", synthetic_image(48, 48, seed=i))
        write_image(real / f"r{i}.png", synthetic_image(20, 24, seed=10 + i))
    return hr, real


def tiny(*sets: str, iters: int = 5, preset: str = "cyclesr", phases: tuple[int, int] = (2, 1)) -> dict:
    extra = [f"cyclesr.pretrain_translator={phases[0]}", f"cyclesr.pretrain_sr={phases[1]}"]
    return load_train_config(
        preset, {"scale": 2, "train.iters": iters, "data.patch_size": 32}, TINY + extra + list(sets)
    )


def run(data, out: Path, cfg: dict, **kwargs):
    hr, real = data
    return train_cyclesr(hr, out, cfg, real_lr=real, device="cpu", quiet=True, **kwargs)


def translator_params(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["params"]


def log_rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


def test_sr_loss_gradient_reaches_the_translator(data, tmp_path):
    """Joint phase only: lambda > 0 changes the translator; with lambda 0 the SR network cannot affect it."""
    joint = {"iters": 2, "phases": (0, 0)}
    with_sr = run(data, tmp_path / "a", tiny("cyclesr.sr_to_translator=10", **joint)).translator_path
    without = run(data, tmp_path / "b", tiny("cyclesr.sr_to_translator=0", **joint)).translator_path
    other_sr = tiny("cyclesr.sr_to_translator=0", "arch_args={num_feat: 8, num_block: 2}", "train.lr=0.01", **joint)
    without_other_sr = run(data, tmp_path / "c", other_sr).translator_path
    a, b, c = (translator_params(p) for p in (with_sr, without, without_other_sr))
    assert any(not torch.equal(a[k], b[k]) for k in a)
    assert all(torch.equal(b[k], c[k]) for k in b)
    assert "l_trans_sr" in log_rows(tmp_path / "a")[-1] and "l_trans_sr" not in log_rows(tmp_path / "b")[-1]


def test_sr_loss_flows_into_the_translator_only(data, tmp_path):
    trainer = CycleSRTrainer(data[0], tmp_path / "t", _with_real(tiny(), data[1]), device="cpu", quiet=True)
    batch = torch.utils.data.default_collate([trainer.dataset[k] for k in range(2)])
    loss = trainer._sr_loss_for_translator(batch["hr"], 10.0)(trainer.trans.g(batch["lr"]))
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in trainer.trans.g.parameters())
    assert all(p.grad is None and p.requires_grad for p in trainer.net_g.parameters())


def test_noise_is_added_after_downsampling_and_before_translation(data, tmp_path, monkeypatch):
    calls: list[tuple[str, torch.Tensor]] = []
    bicubic, noise = cyclesr_data.bicubic_lr, cyclesr_data.add_input_noise

    def spy_bicubic(hr, scale):
        out = bicubic(hr, scale)
        calls.append(("downsample", out))
        return out

    def spy_noise(lr, sigma, gen):
        assert calls and calls[-1][0] == "downsample" and calls[-1][1] is lr  # noise on the downsampled image
        out = noise(lr, sigma, gen)
        calls.append(("noise", out))
        return out

    monkeypatch.setattr(cyclesr_data, "bicubic_lr", spy_bicubic)
    monkeypatch.setattr(cyclesr_data, "add_input_noise", spy_noise)
    trainer = CycleSRTrainer(
        data[0], tmp_path / "t", _with_real(tiny(iters=1, phases=(1, 0)), data[1]), device="cpu", quiet=True
    )
    trainer.trans.g.register_forward_pre_hook(lambda _m, args: calls.append(("translate", args[0])))
    trainer.run()
    names = [name for name, _ in calls]
    assert names[:5] == ["downsample", "noise", "downsample", "noise", "translate"]
    clean, noisy = torch.stack([calls[0][1], calls[2][1]]), torch.stack([calls[1][1], calls[3][1]])
    assert torch.equal(calls[4][1], noisy)  # the translator sees the noisy LR ...
    assert 1 / 255 < (noisy - clean).std() < 10 / 255  # ... with sigma 5 (0-255) noise added


@pytest.mark.parametrize("stop", [2, 4])
def test_resume_gives_the_uninterrupted_run(data, tmp_path, stop):
    sets = ("train.ema_decay=0.9", "train.scheduler={type: multistep, milestones: [3], gamma: 0.5}")
    full = run(data, tmp_path / "full", tiny(*sets, iters=6), seed=5)
    part = run(data, tmp_path / "part", tiny(*sets, iters=6), seed=5, stop_after=stop)
    assert part.iters == stop and part.translator_path is None
    assert not (tmp_path / "part" / "translator.pt").exists()
    resumed = train_cyclesr(data[0], tmp_path / "part", {}, resume=True, device="cpu", quiet=True)
    assert resumed.iters == full.iters == 6

    def losses(run_dir):
        return [{k: v for k, v in r.items() if k.startswith("l_")} for r in log_rows(run_dir)]

    assert losses(tmp_path / "full") == losses(tmp_path / "part")
    for name, keys in (("model.pt", ("params", "params_ema")), ("translator.pt", ("params",))):
        a = torch.load(tmp_path / "full" / name, weights_only=True)
        b = torch.load(tmp_path / "part" / name, weights_only=True)
        assert all(torch.equal(a[key][k], b[key][k]) for key in keys for k in a[key])


def test_both_files_load_where_they_are_used(data, tmp_path, cli):
    result = run(data, tmp_path / "run", tiny(iters=3))
    from realsr_cli.degradations.learned_model import load_degradation_model
    from realsr_cli.degradations.pipeline import learned_degradation
    from realsr_cli.models.loading import load_model

    model, info = load_model(result.model_path)
    assert info.arch == "msrresnet" and info.scale == 2 and model(torch.rand(1, 3, 8, 8)).shape == (1, 3, 16, 16)
    translator = load_degradation_model(result.translator_path)
    assert translator.method == "cyclesr" and translator.scale == 2 and translator.meta["input_noise_sigma"] == 5.0
    assert translator.degrade(torch.rand(1, 3, 10, 12)).shape == (1, 3, 10, 12)
    steps = learned_degradation(result.translator_path).config["steps"]
    assert [s["op"] for s in steps] == ["resize", "noise"] and steps[1]["sigma"] == 5.0  # the training input noise
    pairs = cli(
        "make-pairs", data[0], "-o", tmp_path / "pairs", "-s", "2", "--degradation-model", result.translator_path
    )
    assert pairs.exit_code == 0, pairs.output
    assert len(list((tmp_path / "pairs" / "lr").glob("*.png"))) == 2
    up = cli("upscale", data[1], tmp_path / "up", "--model", result.model_path, "--device", "cpu", "-q")
    assert up.exit_code == 0, up.output
    assert len(list((tmp_path / "up").glob("*.png"))) == 2


def test_cyclesrgan_preset_trains_the_sr_side_adversarially(data, tmp_path, test_vgg):
    sets = ("discriminator={arch: patchgan, args: {ndf: 4, n_layers: 2}}", "train.val_lpips=false")
    cfg = tiny(*sets, preset="cyclesrgan", iters=4)
    assert cfg["losses"]["gan"]["weight"] > 0 and cfg["losses"]["perceptual"]["weight"] > 0
    result = run(data, tmp_path / "gan", cfg, vgg_weights=test_vgg)
    last = log_rows(tmp_path / "gan")[-1]
    assert result.translator_path.is_file() and last["phase"] == "joint"
    assert {"l_pix", "l_percep", "l_g_gan", "l_d_real", "l_trans_sr"} <= set(last)


@pytest.fixture(scope="module")
def test_vgg(tmp_path_factory) -> Path:
    from realsr_cli.losses.perceptual import make_vgg_features

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("vgg") / "vgg19-test.pth"
    torch.save({f"features.{k}": v for k, v in make_vgg_features("vgg19").state_dict().items()}, path)
    return path


def test_phases_and_configuration_errors():
    cfg = load_train_config("cyclesr", {"train.iters": 2000})  # --iters stretches the phases with the schedule
    assert (cfg["cyclesr"]["pretrain_translator"], cfg["cyclesr"]["pretrain_sr"]) == (60, 10)
    from realsr_cli.train.cyclesr_config import cyclesr_settings

    s = cyclesr_settings(cfg)
    assert [s.phase(i) for i in (0, 59, 60, 69, 70, 1999)] == ["translator"] * 2 + ["sr"] * 2 + ["joint"] * 2
    with pytest.raises(PresetError, match="exceed train.iters"):
        load_train_config("cyclesr", {"train.iters": 10}, ["cyclesr.pretrain_translator=8", "cyclesr.pretrain_sr=5"])
    with pytest.raises(PresetError, match="unknown key"):
        load_train_config("cyclesr", sets=["cyclesr.lambda=3"])
    with pytest.raises(PresetError, match="cyclesr.noise_sigma"):
        load_train_config("cyclesr", sets=["cyclesr.noise_sigma=-1"])
    with pytest.raises(PresetError, match="does not apply to mode: cyclesr"):
        load_train_config("cyclesr", {"data.degrade_preset": "generic"})
    with pytest.raises(PresetError, match="needs mode: cyclesr"):
        load_train_config("msrresnet", sets=["cyclesr={noise_sigma: 1}"])


def test_cli_errors_are_one_line(data, tmp_path, cli):
    hr, real = data
    base = ["train-sr", hr, "-o", tmp_path / "run", "-s", "2", "--patch-size", "32", "--device", "cpu", "-q"]
    missing = cli(*base, "--preset", "cyclesr")
    assert missing.exit_code == 1 and "--real-lr" in missing.output and "Traceback" not in missing.output
    assert len(missing.output.strip().splitlines()) == 1
    wrong = cli(*base, "--real-lr", real)  # the default msrresnet preset is not a cyclesr preset
    assert wrong.exit_code == 1 and "only for the cyclesr presets" in wrong.output
    absent = cli(*base, "--preset", "cyclesr", "--real-lr", tmp_path / "nope")
    assert absent.exit_code == 1 and "folder not found" in absent.output
    assert not (tmp_path / "run").exists()


def test_cli_trains_and_reports_both_files(data, tmp_path, cli):
    hr, real = data
    args = ["train-sr", hr, "-o", tmp_path / "run", "--preset", "cyclesr", "--real-lr", real, "-s", "2"]
    args += ["--iters", "3", "--patch-size", "32", "--batch-size", "2", "--device", "cpu", "-q"]
    for item in TINY[:1] + TINY[2:]:
        args += ["--set", item]
    result = cli(*args, "--json", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    info = json.loads((tmp_path / "r.json").read_text())
    assert info["iters"] == 3 and Path(info["translator"]).is_file() and Path(info["model"]).is_file()
    again = cli("train-sr", hr, "-o", tmp_path / "run", "--resume", "--iters", "4", "--device", "cpu", "-q")
    assert again.exit_code == 0, again.output
    assert log_rows(tmp_path / "run")[-1]["iter"] == 4


def _with_real(cfg: dict, real: Path) -> dict:
    return {**cfg, "cyclesr": {**cfg["cyclesr"], "real_lr": str(real)}}


def test_too_small_a_crop_for_the_translator_names_the_options(data, tmp_path):
    with pytest.raises(InputError, match=r"--patch-size 16 \(LR crop 8\) is too small .*translator.d_layers 3"):
        run(data, tmp_path / "run", tiny("data.patch_size=16", "cyclesr.translator.d_layers=3", iters=1, phases=(1, 0)))


def test_real_lr_smaller_than_the_crop_is_named(data, tmp_path):
    write_image(data[1] / "small.png", synthetic_image(10, 30, seed=3))
    with pytest.raises(InputError, match=r"small.png: real LR photo 30x10 is smaller than the 16x16 crop"):
        run(data, tmp_path / "run", tiny(iters=1, phases=(1, 0)))
