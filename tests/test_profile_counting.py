"""AIM 2020 Efficient SR report table (LR 256x256, x4) and KAIR's counting rule on hand-computed toy models."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from realsr_cli.archs import build_arch
from realsr_cli.profiling import count_complexity

# K. Zhang et al., "AIM 2020 Challenge on Efficient Super-Resolution: Methods and Results", ECCVW 2020, Table 1/2.
# params as printed (MSRResNet exact, others truncated to 0.001 M), FLOPs [G] (= KAIR MACs), activations [M], convs.
AIM2020 = [
    ("msrresnet", 1_517_571, None, 166.36, 292.55, 37),
    ("imdn", None, 0.893, 58.53, 154.14, 43),
    ("rfdn", None, 0.433, 27.10, 112.03, 64),
    ("pan", None, 0.272, 32.19, 270.53, 121),
]


@pytest.mark.parametrize(("name", "params", "params_m", "gflops", "mact", "convs"), AIM2020)
def test_aim2020_table_reproduced(name, params, params_m, gflops, mact, convs):
    with torch.device("meta"):
        model = build_arch(name, scale=4)
    c = count_complexity(model, 256, 256)
    if params is not None:
        assert c.params == params
    else:  # the report truncates: IMDN's 893,936 prints as 0.893 M
        assert c.params // 1000 == round(params_m * 1000)
    assert abs(c.macs / 1e9 - gflops) / gflops < 0.005
    assert abs(c.activations / 1e6 - mact) / mact < 0.005
    assert c.conv_layers == convs
    assert c.flops == 2 * c.macs


def test_counting_real_model_leaves_it_untouched():
    model = build_arch("rfdn", scale=2)
    before = model.fea_conv.weight.detach().clone()
    c = count_complexity(model, 20, 30)
    assert model.fea_conv.weight.device.type == "cpu"
    torch.testing.assert_close(model.fea_conv.weight, before)
    assert c.params == sum(p.numel() for p in model.parameters())


class Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)  # bias: not counted
        self.act = nn.PReLU()
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=4, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.down = nn.Conv2d(8, 4, 1, stride=2)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        y = self.act(self.conv(x))
        y = self.act(self.conv(x)) + y  # a module called twice counts twice
        y = torch.relu(self.bn(self.dw(y)))  # functional activation: not counted
        y = self.down(y)
        return self.fc(y.mean((2, 3)))


def test_kair_rule_by_hand():
    c = count_complexity(Toy(), 6, 10)
    hw = 6 * 10
    conv = 2 * (3 * 3 * 3 * 8) * hw  # two calls
    prelu = 2 * 8 * hw
    dw = 3 * 3 * 8 * (8 // 4) * hw  # k*k*C_in*C_out/groups per position
    bn = 2 * 8 * hw  # affine
    down = 1 * 8 * 4 * (3 * 5)
    fc = 4 * 5
    assert c.macs == conv + prelu + dw + bn + down + fc
    assert c.activations == 2 * 8 * hw + 8 * hw + 4 * 15
    assert c.conv_layers == 4
    assert c.params == (3 * 9 * 8 + 8) + 1 + (8 // 4 * 9 * 8) + 16 + (8 * 4 + 4) + (4 * 5 + 5)
    assert c.breakdown["bias_adds"] == 2 * 8 * hw + 4 * 15


def test_fvcore_and_ptflops_agree_on_convs():
    from realsr_cli.profiling.crosscheck import explain, fvcore_macs, ptflops_macs

    model = build_arch("msrresnet", scale=4, num_block=2, num_feat=16).eval()
    c = count_complexity(model, 12, 10)
    fv = fvcore_macs(model, torch.rand(1, 3, 12, 10))
    assert fv is not None
    total, by_op = fv
    assert by_op["conv"] == c.breakdown["conv"]  # independent library, same conv MACs
    assert total == by_op["conv"] + by_op.get("upsample_bilinear2d", 0)
    pt = ptflops_macs(model, 12, 10)
    assert pt == c.macs + c.breakdown["bias_adds"]  # ptflops = KAIR + bias (sovrasov's rule)
    text = " ".join(explain(c, pt, fv))
    assert "bias" in text and "equals KAIR's conv MACs" in text


def test_fvcore_skipped_automatically_for_huge_cpu_forwards():
    from realsr_cli.profiling.report import profile_one

    row = profile_one("rrdbnet", input_size=256, runs=0, device="cpu")  # 1.18 TMACs: no real forward on the CPU
    assert row["fvcore_macs"] is None and "fvcore skipped" in row["explain"][-1]
    assert row["ptflops_macs"] == row["macs"] + row["breakdown"]["bias_adds"]
    assert (row["params"], row["conv_layers"]) == (16_697_987, 351)
