"""The one table of architectures this tool knows: name -> builder, defaults, scales, paper, weights-file support.

``build_arch(name, scale=4, **kwargs)`` builds any registered network; SR networks map (B,3,H,W) -> (B,3,sH,sW),
discriminators map (B,3,H,W) -> logits. ``arch_spec(name)`` tells defaults, supported scales and the paper.
Each SR entry also names, in its arch module, how published weights are read (as spandrel's architectures do):
``detect`` (is a state dict this architecture's?), ``convert`` (published key layouts -> the module's keys) and
``infer`` (constructor arguments and scale from tensor shapes); :func:`detect_arch` asks every entry.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from realsr_cli.errors import InputError


@dataclass(frozen=True)
class ArchSpec:
    name: str
    kind: str  # "sr" | "discriminator"
    target: str  # "module:ClassName"
    defaults: dict[str, Any] = field(default_factory=dict)
    scales: tuple[int, ...] = (2, 3, 4)
    scale_arg: str | None = "scale"  # constructor keyword receiving the scale (None: no scale)
    paper: str = ""
    code: str = ""
    display: str = ""
    detect: str = ""  # "module:function" (state -> bool); empty: only read from model.pt or when named
    convert: str = ""  # "module:function" (state -> state in the module's key names); empty: keys unchanged
    infer: str = ""  # "module:function" (state, original, scale -> (args, scale)); empty: the defaults

    def builder(self) -> type[nn.Module]:
        return _attribute(self.target)

    def recognises(self, state: dict[str, torch.Tensor]) -> bool:
        """Whether ``state`` has one of this architecture's published key layouts."""
        return bool(self.detect) and bool(_attribute(self.detect)(state))

    def convert_state(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``state`` under the module's own key names (published layouts converted)."""
        return dict(_attribute(self.convert)(state)) if self.convert else dict(state)

    def infer_args(
        self, state: dict[str, torch.Tensor], original: dict[str, torch.Tensor] | None = None, scale: int | None = None
    ) -> tuple[dict[str, Any], int]:
        """(constructor arguments, scale) from a converted ``state``; ``original``: its keys as published;
        ``scale``: the wanted scale, used only where the shapes leave it open (PAN x2 / x3)."""
        if not self.infer:
            return arch_args(self.name), int(scale or 4)
        return _attribute(self.infer)(state, state if original is None else original, scale)


def _attribute(ref: str) -> Any:
    """``"module:name"`` -> that attribute of ``realsr_cli.archs.module`` (imported on first use)."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(f"realsr_cli.archs.{module}"), name)


_SPECS: list[ArchSpec] = [
    ArchSpec(
        "msrresnet",
        "sr",
        "msrresnet:MSRResNet",
        {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_block": 16},
        paper="Ledig et al., CVPR 2017 (SRResNet); Zhang et al., AIM 2020 Efficient SR baseline",
        code="cszn/KAIR models/network_msrresnet.py (MSRResNet1); BasicSR srresnet_arch.py",
        display="MSRResNet",
        detect="msrresnet:is_msrresnet_state_dict",
        convert="msrresnet:convert_msrresnet_state_dict",
        infer="msrresnet:infer_msrresnet_args",
    ),
    ArchSpec(
        "rrdbnet",
        "sr",
        "rrdbnet:RRDBNet",
        {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_block": 23, "num_grow_ch": 32},
        scales=(1, 2, 3, 4),
        paper="Wang et al., ESRGAN, ECCVW 2018",
        code="xinntao/ESRGAN RRDBNet_arch.py; BasicSR rrdbnet_arch.py",
        display="RRDBNet (ESRGAN)",
        detect="rrdbnet:is_esrgan_state_dict",
        convert="rrdbnet:convert_rrdbnet_state_dict",
        infer="rrdbnet:infer_rrdbnet_args",
    ),
    ArchSpec(
        "srvggnet-compact",
        "sr",
        "srvgg:SRVGGNetCompact",
        {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_conv": 16, "act_type": "prelu"},
        scales=(1, 2, 3, 4),
        scale_arg="upscale",
        paper="Wang et al., Real-ESRGAN, ICCVW 2021",
        code="xinntao/Real-ESRGAN realesrgan/archs/srvgg_arch.py",
        display="SRVGGNetCompact",
        detect="srvgg:is_srvgg_state_dict",
        infer="srvgg:infer_srvgg_args",
    ),
    ArchSpec(
        "srvgg-bicubic",
        "sr",
        "srvgg:SRVGGNetCompact",
        {
            "num_in_ch": 3,
            "num_out_ch": 3,
            "num_feat": 64,
            "num_conv": 16,
            "act_type": "prelu",
            "skip": "bicubic",
            "init": "residual",
        },
        scales=(1, 2, 3, 4),
        scale_arg="upscale",
        paper="Wang et al., Real-ESRGAN, ICCVW 2021 (SRVGGNetCompact) with a bicubic skip and residual init",
        code="xinntao/Real-ESRGAN realesrgan/archs/srvgg_arch.py (skip changed from nearest to bicubic)",
        display="SRVGGNetCompact, bicubic skip",
        infer="srvgg:infer_srvgg_args",  # no detect: its keys are SRVGGNetCompact's (model.pt records the arch)
    ),
    ArchSpec(
        "edsr",
        "sr",
        "edsr:EDSR",
        {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 256, "num_block": 32, "res_scale": 0.1, "img_range": 255.0},
        paper="Lim et al., EDSR, CVPRW 2017",
        code="sanghyun-son/EDSR-PyTorch src/model/edsr.py; BasicSR edsr_arch.py",
        display="EDSR",
        detect="edsr:is_edsr_state_dict",
        convert="edsr:convert_edsr_state_dict",
        infer="edsr:infer_edsr_args",
    ),
    ArchSpec(
        "rcan",
        "sr",
        "rcan:RCAN",
        {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_group": 10, "num_block": 20, "squeeze_factor": 16},
        paper="Zhang et al., RCAN, ECCV 2018",
        code="yulunzhang/RCAN RCAN_TrainCode/code/model/rcan.py; BasicSR rcan_arch.py",
        display="RCAN",
        detect="rcan:is_rcan_state_dict",
        convert="rcan:convert_rcan_state_dict",
        infer="rcan:infer_rcan_args",
    ),
    ArchSpec(
        "imdn",
        "sr",
        "imdn:IMDN",
        {"in_nc": 3, "out_nc": 3, "nf": 64, "num_modules": 8},
        scale_arg="upscale",
        paper="Hui et al., IMDN, ACM MM 2019 (AIM 2019 constrained SR winner)",
        code="Zheng222/IMDN model/architecture.py + block.py; cszn/KAIR models/network_imdn.py",
        display="IMDN",
        detect="imdn:is_imdn_state_dict",
        infer="imdn:infer_imdn_args",
    ),
    ArchSpec(
        "rfdn",
        "sr",
        "rfdn:RFDN",
        {"in_nc": 3, "out_nc": 3, "nf": 50, "num_modules": 4},
        scale_arg="upscale",
        paper="Liu et al., RFDN, ECCVW 2020 (AIM 2020 Efficient SR winner)",
        code="njulj/RFDN RFDN.py + block.py",
        display="RFDN",
        detect="rfdn:is_rfdn_state_dict",
        infer="rfdn:infer_rfdn_args",
    ),
    ArchSpec(
        "pan",
        "sr",
        "pan:PAN",
        {"in_nc": 3, "out_nc": 3, "nf": 40, "unf": 24, "nb": 16},
        paper="Zhao et al., PAN: Efficient Image Super-Resolution Using Pixel Attention, ECCVW 2020",
        code="zhaohengyuan1/PAN codes/models/archs/PAN_arch.py",
        display="PAN",
        detect="pan:is_pan_state_dict",
        infer="pan:infer_pan_args",
    ),
    ArchSpec(
        "vgg128",
        "discriminator",
        "discriminators:VGGStyleDiscriminator",
        {"num_in_ch": 3, "num_feat": 64, "input_size": 128},
        scales=(),
        scale_arg=None,
        paper="Wang et al., ESRGAN, ECCVW 2018 (VGG-style discriminator, 128x128 input)",
        code="BasicSR basicsr/archs/discriminator_arch.py (VGGStyleDiscriminator)",
        display="VGG-style D (ESRGAN)",
    ),
    ArchSpec(
        "unet-sn",
        "discriminator",
        "discriminators:UNetDiscriminatorSN",
        {"num_in_ch": 3, "num_feat": 64, "skip_connection": True},
        scales=(),
        scale_arg=None,
        paper="Wang et al., Real-ESRGAN, ICCVW 2021 (U-Net discriminator with spectral norm)",
        code="BasicSR basicsr/archs/discriminator_arch.py (UNetDiscriminatorSN)",
        display="U-Net D + SN (Real-ESRGAN)",
    ),
    ArchSpec(
        "patchgan",
        "discriminator",
        "discriminators:NLayerDiscriminator",
        {"input_nc": 3, "ndf": 64, "n_layers": 3, "norm": "batch"},
        scales=(),
        scale_arg=None,
        paper="Isola et al., pix2pix, CVPR 2017 (70x70 PatchGAN)",
        code="junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py (NLayerDiscriminator)",
        display="PatchGAN D (pix2pix)",
    ),
]

REGISTRY: dict[str, ArchSpec] = {spec.name: spec for spec in _SPECS}
_ALIASES = {"esrgan": "rrdbnet", "srvgg": "srvggnet-compact", "srvggnetcompact": "srvggnet-compact"}


def canonical_name(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in REGISTRY:
        raise InputError(f"unknown architecture {name!r}; known: {', '.join(REGISTRY)}")
    return key


def arch_spec(name: str) -> ArchSpec:
    """Defaults, supported scales, paper and official code of a registered architecture."""
    return REGISTRY[canonical_name(name)]


def detect_arch(state: dict[str, torch.Tensor]) -> str | None:
    """The registered architecture whose published key layout ``state`` has (None: none of this tool's)."""
    return next((spec.name for spec in _SPECS if spec.recognises(state)), None)


def list_archs(kind: str | None = "sr") -> list[str]:
    """Registered names of one kind ("sr" or "discriminator"; None: all), in table order."""
    return [s.name for s in _SPECS if kind is None or s.kind == kind]


def build_arch(name: str, scale: int = 4, **kwargs: Any) -> nn.Module:
    """Build a registered network with its standard hyper-parameters, overridden by ``kwargs``."""
    spec = arch_spec(name)
    args = {**spec.defaults, **kwargs}
    if spec.scale_arg is not None:
        args.pop("scale", None)
        args.pop("upscale", None)
        if spec.scales and scale not in spec.scales:
            raise InputError(f"{spec.name} supports scales {', '.join(f'x{s}' for s in spec.scales)}, not x{scale}")
        args[spec.scale_arg] = scale
    try:
        return spec.builder()(**args)
    except TypeError as exc:
        raise InputError(f"{spec.name}: bad architecture arguments {kwargs}: {exc}") from None


def arch_args(name: str, scale: int = 4, **kwargs: Any) -> dict[str, Any]:
    """The full constructor arguments ``build_arch`` would use (stored in model.pt)."""
    spec = arch_spec(name)
    args = {**spec.defaults, **kwargs}
    args.pop("scale", None)
    args.pop("upscale", None)
    return args
