"""Outputs are created exclusively without ``--overwrite``: a file another run creates meanwhile is never replaced."""

from __future__ import annotations

import numpy as np
import pytest

from realsr_cli.degradations.noise import NoiseModel
from realsr_cli.errors import OutputExistsError
from realsr_cli.figures import slider
from realsr_cli.learn.noise_model import write_model

PAGES = [("img", [("reference", np.zeros((4, 4, 3), np.uint8)), ("method", np.ones((4, 4, 3), np.uint8))])]


def test_slider_page_created_meanwhile_is_kept(tmp_path, monkeypatch) -> None:
    page, real = tmp_path / "page.html", slider.slider_page

    def racing(pages):  # another run publishes the page between the command's check and this write
        page.write_text("theirs")
        return real(pages)

    monkeypatch.setattr(slider, "slider_page", racing)
    with pytest.raises(OutputExistsError):
        slider.write_slider_page(page, PAGES)
    assert page.read_text() == "theirs"
    slider.write_slider_page(page, PAGES, overwrite=True)
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_noise_model_created_meanwhile_is_kept(tmp_path, monkeypatch) -> None:
    path, real = tmp_path / "model.json", NoiseModel.to_json

    def racing(self):  # another run writes model.json after write_model's exists-check
        path.write_text("theirs")
        return real(self)

    monkeypatch.setattr(NoiseModel, "to_json", racing)
    model = NoiseModel(a=[1.0] * 3, b=[4.0] * 3, correlation=np.eye(3).tolist())
    with pytest.raises(OutputExistsError):
        write_model(path, model, overwrite=False)
    assert path.read_text() == "theirs"
