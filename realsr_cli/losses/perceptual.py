"""VGG perceptual loss (Johnson et al. 2016) in ESRGAN's form: features *before* activation.

ESRGAN (Wang et al., ECCV 2018 workshops, https://github.com/xinntao/ESRGAN) uses VGG19 ``conv5_4`` before
the ReLU, L1 distance, ImageNet input normalisation; Real-ESRGAN weights ``conv1_2 .. conv5_4`` with
0.1/0.1/1/1/1. Layer names and the feature extractor follow BasicSR (basicsr/archs/vgg_arch.py,
basicsr/losses/basic_loss.py ``PerceptualLoss``). Weights are torchvision's ImageNet VGG (file
``vgg19-dcbb9e9d.pth`` in torch hub's cache, or ``--vgg-weights FILE``; a file holding only ``features.*``
works too). Nothing is downloaded. ``backbone: vgg16`` (torchvision ``vgg16-397923af.pth`` or the
features-only ``vgg16-features.pth``) is accepted as an offline substitute: there, ``convN_4`` layer names
map to the block's last convolution ``convN_3``. :func:`find_vgg_weights` / :func:`load_vgg_features` are the
package's one way to VGG weights (DSGAN's LPIPS-VGG16 loss uses them too).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from realsr_cli.batch import error_text
from realsr_cli.errors import WeightsNotFoundError
from realsr_cli.weights import find_weights

_BLOCKS = {"vgg19": (2, 2, 4, 4, 4), "vgg16": (2, 2, 3, 3, 3)}
WEIGHT_FILES = {"vgg19": ["vgg19-dcbb9e9d.pth"], "vgg16": ["vgg16-397923af.pth", "vgg16-features.pth"]}
VGG_ENV = "REALSR_VGG_WEIGHTS"
VGG_ENVS = {"vgg19": (VGG_ENV,), "vgg16": ("REALSR_VGG16_WEIGHTS", VGG_ENV)}
SHARED_WEIGHTS = Path(__file__).resolve().parents[2].parent / "shared" / "weights"  # a checkout's ../shared/weights
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def layer_names(backbone: str) -> list[str]:
    """BasicSR's names of the torchvision ``features`` modules, in order (conv/relu/pool)."""
    names = []
    for block, convs in enumerate(_BLOCKS[backbone], start=1):
        for i in range(1, convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return names


def resolve_layer(name: str, backbone: str) -> str:
    names = layer_names(backbone)
    if name in names:
        return name
    if backbone == "vgg16" and name[:4] in ("conv", "relu") and name.endswith("_4"):
        return name[:-1] + "3"
    raise ValueError(f"unknown {backbone} layer {name!r} (e.g. conv5_4 / relu5_4 / conv3_4)")


def make_vgg_features(backbone: str) -> nn.Sequential:
    """An untrained torchvision-layout VGG ``features`` stack (conv 3x3 + ReLU, 2x2 max-pool)."""
    if backbone not in _BLOCKS:
        raise ValueError(f"unknown perceptual backbone {backbone!r} (vgg19 or vgg16)")
    layers: list[nn.Module] = []
    widths = (64, 128, 256, 512, 512)
    in_ch = 3
    for convs, width in zip(_BLOCKS[backbone], widths, strict=True):
        for _ in range(convs):
            layers += [nn.Conv2d(in_ch, width, 3, padding=1), nn.ReLU(inplace=False)]
            in_ch = width
        layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)


def find_vgg_weights(backbone: str = "vgg19", explicit: str | Path | None = None, purpose: str | None = None) -> Path:
    """The VGG weights file: ``explicit``, else ``$REALSR_VGG_WEIGHTS`` (vgg16: ``$REALSR_VGG16_WEIGHTS`` first),
    ``$REALSR_WEIGHTS_DIR``, torch hub's cache, ``~/.cache/realsr/weights`` and a checkout's ``../shared/weights``."""
    if backbone not in WEIGHT_FILES:
        raise ValueError(f"unknown perceptual backbone {backbone!r} (vgg19 or vgg16)")
    return find_weights(
        WEIGHT_FILES[backbone],
        purpose=purpose or f"the perceptual loss ({backbone})",
        explicit=explicit,
        env_var=VGG_ENVS[backbone],
        option="--vgg-weights",
        folders=(SHARED_WEIGHTS,),
    )


def load_vgg_features(
    backbone: str = "vgg19", weights: str | Path | None = None, purpose: str | None = None
) -> nn.Sequential:
    """The ImageNet VGG feature stack, weights from ``weights`` or found offline (:func:`find_vgg_weights`); a file
    of torchvision's whole VGG or of its ``features`` only (keys with or without the ``features.`` prefix)."""
    path = find_vgg_weights(backbone, weights, purpose)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unreadable or unsafe (weights_only refuses code) is one clear line
        raise WeightsNotFoundError(
            f"{path}: not a readable {backbone} weights file ({error_text(exc)[:200]})"
        ) from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsNotFoundError(f"{path}: not torchvision {backbone} weights (a {type(state).__name__})")
    feats = {k.removeprefix("features."): v for k, v in state.items() if isinstance(k, str) and _is_feature_key(k)}
    net = make_vgg_features(backbone)
    expected = set(net.state_dict())
    if set(feats) != expected:
        missing = sorted(expected - set(feats))[:3]
        raise WeightsNotFoundError(f"{path}: not torchvision {backbone} weights (missing e.g. {missing})")
    net.load_state_dict(feats)
    return net


def _is_feature_key(key: str) -> bool:
    """``features.N.weight`` (torchvision's VGG) or ``N.weight`` (a saved ``features`` stack)."""
    return key.startswith("features.") or key.split(".", 1)[0].isdigit()


class VGGFeatureExtractor(nn.Module):
    """Frozen VGG returning the named layers' outputs (``conv*`` = before activation)."""

    mean: Tensor  # buffers (ImageNet normalisation)
    std: Tensor

    def __init__(
        self,
        layers: list[str],
        backbone: str = "vgg19",
        weights: str | Path | None = None,
        use_input_norm: bool = True,
        range_norm: bool = False,
        features: nn.Sequential | None = None,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.layers = [resolve_layer(name, backbone) for name in layers]
        names = layer_names(backbone)
        last = max(names.index(n) for n in self.layers)
        full = features if features is not None else load_vgg_features(backbone, weights)
        self.features = nn.Sequential(*list(full.children())[: last + 1])
        self.names = names[: last + 1]
        self.use_input_norm = use_input_norm
        self.range_norm = range_norm
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGGFeatureExtractor:  # always frozen, eval mode
        return super().train(False)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        if self.range_norm:
            x = (x + 1) / 2
        if self.use_input_norm:
            x = (x - self.mean) / self.std
        out = {}
        wanted = set(self.layers)
        for name, layer in zip(self.names, self.features, strict=True):
            x = layer(x)
            if name in wanted:
                out[name] = x.clone() if isinstance(layer, nn.Conv2d) else x
        return out


class PerceptualLoss(nn.Module):
    """``perceptual_weight * sum_l w_l * criterion(phi_l(pred), phi_l(target))`` (BasicSR ``PerceptualLoss``)."""

    def __init__(
        self,
        layer_weights: dict[str, float] | None = None,
        backbone: str = "vgg19",
        weights: str | Path | None = None,
        criterion: str = "l1",
        use_input_norm: bool = True,
        range_norm: bool = False,
        features: nn.Sequential | None = None,
    ) -> None:
        super().__init__()
        layer_weights = dict(layer_weights or {"conv5_4": 1.0})
        self.layer_weights = {resolve_layer(k, backbone): float(v) for k, v in layer_weights.items()}
        self.vgg = VGGFeatureExtractor(
            list(self.layer_weights), backbone, weights, use_input_norm, range_norm, features=features
        )
        if criterion not in ("l1", "l2", "fro"):
            raise ValueError(f"perceptual criterion {criterion!r}: expected l1, l2 or fro")
        self.criterion = criterion

    def _distance(self, a: Tensor, b: Tensor) -> Tensor:
        if self.criterion == "l1":
            return (a - b).abs().mean()
        if self.criterion == "l2":
            return (a - b).pow(2).mean()
        return torch.linalg.vector_norm(a - b)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        pred_feats = self.vgg(pred.float())
        with torch.no_grad():
            target_feats = self.vgg(target.float())
        total = pred.new_zeros((), dtype=torch.float32)
        for name, weight in self.layer_weights.items():
            total = total + weight * self._distance(pred_feats[name], target_feats[name])
        return total
