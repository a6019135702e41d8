"""A self-contained HTML page with a before/after slider per image and method (images inlined as base64 PNG)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np

from realsr_cli.io.atomic import atomic_write_text
from realsr_cli.io.images import encode_image

STYLE = """
body { font-family: sans-serif; margin: 1.5em; background: #fafafa; }
.pair { position: relative; display: inline-block; margin: 0 1em 1em 0; line-height: 0; }
.pair img { display: block; image-rendering: pixelated; max-width: 90vw; }
.pair .after { position: absolute; top: 0; left: 0; clip-path: inset(0 0 0 50%); }
.pair input { width: 100%; margin: 0; }
.caption { line-height: 1.4; font-size: 0.9em; }
"""
SCRIPT = """
for (const s of document.querySelectorAll('.pair input')) {
  s.addEventListener('input', e => {
    e.target.parentElement.querySelector('.after').style.clipPath = `inset(0 0 0 ${e.target.value}%)`;
  });
}
"""


def data_uri(pixels: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(encode_image(pixels, ".png")).decode("ascii")


def _pair(before: np.ndarray, after: np.ndarray, before_name: str, after_name: str) -> str:
    caption = f"{html.escape(before_name)} (left) | {html.escape(after_name)} (right)"
    return (
        f'<div class="pair"><img src="{data_uri(before)}" alt="{html.escape(before_name)}">'
        f'<img class="after" src="{data_uri(after)}" alt="{html.escape(after_name)}">'
        f'<input type="range" min="0" max="100" value="50"><div class="caption">{caption}</div></div>'
    )


def slider_page(pages: list[tuple[str, list[tuple[str, np.ndarray]]]]) -> str:
    """``pages``: (image stem, [("reference", image), (method, image), ...]) -> the HTML text."""
    sections = []
    for stem, views in pages:
        (ref_name, ref), methods = views[0], views[1:]
        pairs = "".join(_pair(ref, img, ref_name, name) for name, img in methods)
        sections.append(f"<section><h2>{html.escape(stem)}</h2>{pairs}</section>")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>realsr compare</title>"
        f"<style>{STYLE}</style></head><body><h1>realsr compare</h1>{''.join(sections)}"
        f"<script>{SCRIPT}</script></body></html>\n"
    )


def write_slider_page(
    path: Path, pages: list[tuple[str, list[tuple[str, np.ndarray]]]], *, overwrite: bool = False
) -> Path:
    """Write the page; without ``overwrite`` the name is created exclusively (``OutputExistsError`` when taken)."""
    return atomic_write_text(path, slider_page(pages), overwrite=overwrite)
