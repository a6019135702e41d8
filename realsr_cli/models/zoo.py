"""The model zoo: names of well-known published checkpoints, and :func:`resolve_model` (name / URL / file -> path).

Each entry gives the publisher's URL and, where one is known, the file's sha256: for the GitHub-hosted files of
RFDN and PAN it is the hash of the file in the publisher's repository at the pinned commit; for the Real-ESRGAN,
BSRGAN, SwinIR and RealSR release files (whose publishers give none) it is the hash recorded for that same URL by
OpenModelDB (github.com/OpenModelDB/open-model-database); entries with neither are trusted on first use (the hash
is recorded at the first download and verified from then on; ``realsr models list`` says which). The ImageNet
backbones of LPIPS and the perceptual losses are torchvision's files, whose names carry the first 8 hex digits
of their sha256, which is what is checked for them.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from realsr_cli.errors import InputError
from realsr_cli.models.cache import cache_dir, verify_cached

REAL_ESRGAN = "https://github.com/xinntao/Real-ESRGAN/releases/download"
OPENMODELDB = "OpenModelDB record"


@dataclass(frozen=True)
class ZooEntry:
    """One published weights file."""

    name: str
    url: str
    filename: str
    arch: str
    scale: int
    license: str
    source: str  # the project / challenge it comes from
    size: int | None = None  # bytes, when known
    sha256: str | None = None  # full hash, or a prefix; None: trust on first use
    hash_source: str = ""  # where the hash comes from
    kind: str = "sr"  # sr | backbone

    @property
    def path(self) -> Path:
        return cache_dir() / self.filename

    def hash_status(self) -> str:
        """pinned (a known hash), TOFU, recorded (trusted on first use, recorded since) or TOFU (not yet seen)."""
        from realsr_cli.models.cache import recorded_hash

        if self.sha256:
            return "pinned" if len(self.sha256) == 64 else f"prefix {self.sha256}"
        return "TOFU, recorded" if recorded_hash(self.path) else "TOFU"


def _sr(name: str, url: str, arch: str, scale: int, lic: str, source: str, size=None, sha256=None, how="") -> ZooEntry:
    filename = urllib.parse.unquote(Path(urllib.parse.urlparse(url).path).name)
    return ZooEntry(name, url, filename, arch, scale, lic, source, size, sha256, how)


def _gdrive(name: str, file_id: str, filename: str, size: int, sha256: str) -> ZooEntry:
    url = f"https://drive.google.com/uc?export=download&id={file_id}"
    source = "RealSR (NTIRE 2020)"
    return ZooEntry(name, url, filename, "rrdbnet", 4, "Apache-2.0", source, size, sha256, OPENMODELDB)


_RFDN = "https://github.com/njulj/RFDN/raw/7cf4e25b6633e81fd7e26891aeee2baca4f8f927/trained_model"
_PAN = "https://github.com/zhaohengyuan1/PAN/raw/4d045d18592c5771cd3990da88f292812774e538/experiments/pretrained_models"
_ESRGAN = "Real-ESRGAN"
_SWINIR = "SwinIR"
_REPO = "publisher's repository"

ZOO: tuple[ZooEntry, ...] = (
    _sr("RealESRGAN_x4plus", f"{REAL_ESRGAN}/v0.1.0/RealESRGAN_x4plus.pth", "rrdbnet", 4, "BSD-3-Clause", _ESRGAN,
        67040989, "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1", OPENMODELDB),
    _sr("RealESRGAN_x2plus", f"{REAL_ESRGAN}/v0.2.1/RealESRGAN_x2plus.pth", "rrdbnet", 2, "BSD-3-Clause", _ESRGAN,
        67061725, "49fafd45f8fd7aa8d31ab2a22d14d91b536c34494a5cfe31eb5d89c2fa266abb", OPENMODELDB),
    _sr("RealESRNet_x4plus", f"{REAL_ESRGAN}/v0.1.1/RealESRNet_x4plus.pth", "rrdbnet", 4, "BSD-3-Clause", _ESRGAN),
    _sr("RealESRGAN_x4plus_anime_6B", f"{REAL_ESRGAN}/v0.2.2.4/RealESRGAN_x4plus_anime_6B.pth", "rrdbnet", 4,
        "BSD-3-Clause", _ESRGAN, 17938799, "f872d837d3c90ed2e05227bed711af5671a6fd1c9f7d7e91c911a61f155e99da",
        OPENMODELDB),
    _sr("realesr-general-x4v3", f"{REAL_ESRGAN}/v0.2.5.0/realesr-general-x4v3.pth", "srvggnet-compact", 4,
        "BSD-3-Clause", _ESRGAN, 4885111, "8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292",
        OPENMODELDB),
    _sr("realesr-general-wdn-x4v3", f"{REAL_ESRGAN}/v0.2.5.0/realesr-general-wdn-x4v3.pth", "srvggnet-compact", 4,
        "BSD-3-Clause", _ESRGAN, 4885111, "1641f8c4464b9f097c9fdda5589273713f67cf59f3d909e0bd688f0cee269dca",
        OPENMODELDB),
    _sr("realesr-animevideov3", f"{REAL_ESRGAN}/v0.2.5.0/realesr-animevideov3.pth", "srvggnet-compact", 4,
        "BSD-3-Clause", _ESRGAN, 2504012, "b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d",
        OPENMODELDB),
    _gdrive("RealSR_DF2K", "1pWGfSw-UxOkrtbh14GeLQgYnMLdLguOF", "RealSR_DF2K.pth", 66921375,
            "a3df4ebdb3ff9fba08133b69fcfdd7965793957036c2b1a648d8440e737c39ac"),
    _gdrive("RealSR_DF2K_JPEG", "1w8QbCLM6g-MMVlIhRERtSXrP-Dh7cPhm", "RealSR_DF2K_JPEG.pth", 66923491,
            "e186c60a3c8a0af07f79ffb99ffa5b3083af27978b6fcf4bec0327cb91031f9f"),
    _sr("BSRGAN", "https://github.com/cszn/KAIR/releases/download/v1.0/BSRGAN.pth", "rrdbnet", 4, "Apache-2.0",
        "BSRGAN", 67046751,
        "5d505a0766160921e0388d76e1ddf08cb114303990f9080432bf2b1c988b1c54", OPENMODELDB),
    _sr("BSRGANx2", "https://github.com/cszn/KAIR/releases/download/v1.0/BSRGANx2.pth", "rrdbnet", 2, "Apache-2.0",
        "BSRGAN", 66894171,
        "614f68bcafcf123a1ea51cc75ae5741640a8b1d49dd75757ad3ad531f772c736", OPENMODELDB),
    _sr("SwinIR-M_x4_GAN_realSR", "https://github.com/JingyunLiang/SwinIR/releases/download/v0.0/"
        "003_realSR_BSRGAN_DFO_s64w8_SwinIR-M_x4_GAN.pth", "swinir (spandrel)", 4, "Apache-2.0", _SWINIR, 67129861,
        "b9afb61e65e04eb7f8aba5095d070bbe9af28df76acd0c9405aeb33b814bcfc6", OPENMODELDB),
    _sr("SwinIR-L_x4_GAN_realSR", "https://github.com/JingyunLiang/SwinIR/releases/download/v0.0/"
        "003_realSR_BSRGAN_DFOWMFC_s64w8_SwinIR-L_x4_GAN.pth", "swinir (spandrel)", 4, "Apache-2.0", _SWINIR,
        142473939, "99adfa91350a84c99e946c1eb3d8fce34bc28f57d807b09dc8fe40a316328c0a", OPENMODELDB),
    _sr("RFDN_AIM2020", f"{_RFDN}/RFDN_AIM.pth", "rfdn", 4, "MIT",
        "RFDN (AIM 2020)", 1754927,
        "11af8ec8ebd68689e90ef1e29044f9804c72d3bd9f7573820b7b26035782760c", _REPO),
    _sr("PAN_x4", f"{_PAN}/PANx4_DF2K.pth", "pan", 4, "none stated", "PAN (AIM 2020)",
        1121681, "739fab99ee7b7058dab4d1b84aa2869bb9fc3995a1c08789c20355bee943833c", _REPO),
    _sr("PAN_x2", f"{_PAN}/PANx2_DF2K.pth", "pan", 2, "none stated", "PAN (AIM 2020)",
        1076593, "fcf8ed48656abbaae46309ee91745684b80235a9c8b37a2d8fb0715a3ad3f00f", _REPO),
)  # fmt: skip

_TV = "https://download.pytorch.org/models"
_TV_LIC = "BSD-3-Clause"
BACKBONES: tuple[ZooEntry, ...] = tuple(
    ZooEntry(name, f"{_TV}/{fn}", fn, name, 1, _TV_LIC, f"torchvision ({use})", None,
             fn.rsplit("-", 1)[1].split(".")[0], "torchvision file name", "backbone")
    for name, fn, use in (
        ("alexnet", "alexnet-owt-7be5be79.pth", "LPIPS alex"),
        ("vgg16", "vgg16-397923af.pth", "LPIPS vgg"),
        ("vgg19", "vgg19-dcbb9e9d.pth", "perceptual loss"),
    )
)  # fmt: skip

ALL: tuple[ZooEntry, ...] = ZOO + BACKBONES


def find_entry(name: str) -> ZooEntry | None:
    """The entry called ``name`` (case-insensitive; its file name works too), else None."""
    key = name.strip().lower()
    for entry in ALL:
        if key in (entry.name.lower(), entry.filename.lower(), Path(entry.filename).stem.lower()):
            return entry
    return None


def entry_for_url(url: str) -> ZooEntry | None:
    return next((e for e in ALL if e.url == url), None)


def is_url(text: str) -> bool:
    return bool(re.match(r"^https?://", text, re.IGNORECASE))


def _unmangle(text: str) -> str:
    """``Path("https://host/f")`` collapses ``//`` to ``/``: undo that for specs that went through ``Path``."""
    return re.sub(r"^(https?):/(?!/)", r"\1://", text, flags=re.IGNORECASE)


def url_entry(url: str) -> ZooEntry:
    """The zoo entry of ``url``, or an ad-hoc one (hash trusted on first use).

    An ad-hoc file is cached as ``<12 hex digits of sha256(url)>-<name in the URL>``, so two URLs ending in the
    same file name never share (and silently reuse) one cache file."""
    known = entry_for_url(url)
    if known is not None:
        return known
    key = hashlib.sha256(url.encode()).hexdigest()[:12]
    name = urllib.parse.unquote(Path(urllib.parse.urlparse(url).path).name)
    if not name or not re.fullmatch(r"[\w.+-]+", name):
        name = "model.pth"
    return ZooEntry(name, url, f"{key}-{name}", "?", 0, "?", url)


def fetch_entry(entry: ZooEntry, quiet: bool = False) -> Path:
    """The entry's file in the cache, downloaded and verified first when absent."""
    from realsr_cli.models.download import download

    return download(entry.url, entry.path, entry.sha256, quiet=quiet)


def resolve_model(spec: str | Path, quiet: bool = False) -> Path:
    """A model file path from ``spec``: an existing file (or folder), a zoo name, or an http(s) URL.

    Names and URLs resolve to the verified file in torch hub's cache, downloaded on first use; anything else is
    returned as a path (for the loaders' own "not found" error)."""
    text = _unmangle(str(spec))
    if is_url(text):
        return fetch_entry(url_entry(text), quiet)
    path = Path(text).expanduser()
    if path.exists():
        return path
    entry = find_entry(text)
    if entry is None:
        return path
    if entry.kind != "sr":
        raise InputError(f"{entry.name}: an ImageNet backbone ({entry.source}), not an SR model")
    return fetch_entry(entry, quiet)


def is_model_spec(text: str) -> bool:
    """Whether ``text`` names a model: a URL or a zoo name (used where architecture names are accepted too)."""
    text = _unmangle(text)
    entry = find_entry(text)
    return is_url(text) or (entry is not None and entry.kind == "sr")


def verify_entry(entry: ZooEntry) -> str:
    return verify_cached(entry.path, entry.sha256, entry.url)
