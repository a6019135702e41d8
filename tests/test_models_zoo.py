"""The model zoo and its verified cache, against a local HTTP server on 127.0.0.1 (no internet)."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from realsr_cli.archs import build_arch
from realsr_cli.cli.main import app
from realsr_cli.errors import InputError, WeightsNotFoundError
from realsr_cli.models import zoo
from realsr_cli.models.cache import RECORD_NAME, cache_dir
from realsr_cli.models.checkpoint import save_model
from realsr_cli.models.download import DownloadError
from realsr_cli.models.loading import load_sr_model


class _Server(http.server.ThreadingHTTPServer):
    files: dict[str, bytes]
    truncate_once: set[str]
    ranges: list[str | None]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # http.server's name
        data = self.server.files.get(self.path)
        self.server.ranges.append(self.headers.get("Range"))
        if data is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].rstrip("-"))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if self.path in self.server.truncate_once:  # the connection drops halfway through
            self.server.truncate_once.discard(self.path)
            body = body[: len(body) // 2]
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.files, srv.truncate_once, srv.ranges = {}, set(), []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("REALSR_OFFLINE", raising=False)
    return tmp_path / "torch" / "hub" / "checkpoints"


def _model_bytes(tmp_path: Path) -> bytes:
    torch.manual_seed(0)
    args = {"num_feat": 8, "num_conv": 2}
    net = build_arch("srvggnet-compact", scale=2, **args)
    path = save_model(tmp_path / "tiny.pt", net, arch="srvggnet-compact", arch_args=args, scale=2)
    return path.read_bytes()


def _url(srv: _Server, path: str) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}{path}"


def _entry(srv: _Server, name: str, path: str, sha256: str | None) -> zoo.ZooEntry:
    return zoo.ZooEntry(name, _url(srv, path), Path(path).name, "srvggnet-compact", 2, "MIT", "test", None, sha256, "t")


def _add(monkeypatch, *entries: zoo.ZooEntry) -> None:
    monkeypatch.setattr(zoo, "ALL", zoo.ALL + entries)


def test_good_file_verified_cached_and_loadable_by_name(server, tmp_path, monkeypatch, cache) -> None:
    data = _model_bytes(tmp_path)
    server.files["/m/tiny_x2.pth"] = data
    _add(monkeypatch, _entry(server, "tiny-x2", "/m/tiny_x2.pth", hashlib.sha256(data).hexdigest()))
    model = load_sr_model("tiny-x2")
    assert model.scale == 2 and (cache / "tiny_x2.pth").read_bytes() == data
    assert not list(cache.glob("*.part"))
    record = json.loads((cache / RECORD_NAME).read_text())
    assert record["tiny_x2.pth"]["sha256"] == hashlib.sha256(data).hexdigest()
    requests = len(server.ranges)
    load_sr_model("TINY-X2")  # cached: no second request
    assert len(server.ranges) == requests


def test_wrong_hash_is_refused_and_nothing_is_cached(server, tmp_path, monkeypatch, cache) -> None:
    server.files["/m/bad.pth"] = _model_bytes(tmp_path)
    _add(monkeypatch, _entry(server, "bad", "/m/bad.pth", "0" * 64))
    with pytest.raises(DownloadError, match=r"bad\.pth: downloaded file has sha256 .* expected 0000"):
        zoo.resolve_model("bad")
    assert not (cache / "bad.pth").exists() and not (cache / "bad.pth.part").exists()


def test_interrupted_download_resumes_with_a_range_request(server, tmp_path, monkeypatch, cache) -> None:
    data = _model_bytes(tmp_path)
    server.files["/m/big.pth"] = data
    server.truncate_once.add("/m/big.pth")
    _add(monkeypatch, _entry(server, "big", "/m/big.pth", hashlib.sha256(data).hexdigest()))
    with pytest.raises(DownloadError, match="interrupted"):
        zoo.resolve_model("big")
    part = cache / "big.pth.part"
    assert part.is_file() and 0 < part.stat().st_size < len(data) and not (cache / "big.pth").exists()
    half = part.stat().st_size
    path = zoo.resolve_model("big")
    assert path.read_bytes() == data
    assert server.ranges[-1] == f"bytes={half}-"


def test_404_and_offline_errors_name_the_file_and_the_cache_path(server, monkeypatch, cache) -> None:
    _add(monkeypatch, _entry(server, "gone", "/m/gone.pth", None))
    with pytest.raises(WeightsNotFoundError, match=r"gone\.pth: HTTP 404") as info:
        zoo.resolve_model("gone")
    assert str(cache / "gone.pth") in str(info.value)
    monkeypatch.setenv("REALSR_OFFLINE", "1")
    with pytest.raises(WeightsNotFoundError, match="REALSR_OFFLINE") as info:
        zoo.resolve_model("RealESRGAN_x4plus")
    assert "RealESRGAN_x4plus.pth" in str(info.value) and str(cache) in str(info.value)
    monkeypatch.delenv("REALSR_OFFLINE")
    server.server_close()  # nothing listens any more: as offline
    _add(monkeypatch, _entry(server, "unreachable", "/m/unreachable.pth", None))
    with pytest.raises(WeightsNotFoundError, match="cannot be downloaded") as info:
        zoo.resolve_model("unreachable")
    assert str(cache / "unreachable.pth") in str(info.value)


def test_cli_model_name_fails_offline_in_one_line(tmp_path, monkeypatch, cache) -> None:
    monkeypatch.setenv("REALSR_OFFLINE", "1")
    result = CliRunner().invoke(app, ["upscale", str(tmp_path), str(tmp_path / "out"), "--model", "BSRGAN"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "BSRGAN.pth" in lines[0] and "checkpoints" in lines[0]


def test_url_spec_trust_on_first_use_then_verified(server, tmp_path, cache) -> None:
    data = _model_bytes(tmp_path)
    server.files["/dl/any_model.pth"] = data
    url = _url(server, "/dl/any_model.pth")
    path = zoo.resolve_model(Path(url))  # a URL that went through Path (``https:/...``) still works
    assert path.parent == cache and path.name.endswith("-any_model.pth") and path.read_bytes() == data
    assert load_sr_model(url).scale == 2
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # tampered: differs from the hash recorded at first use
    with pytest.raises(InputError, match="recorded at first use"):
        zoo.resolve_model(url)


def test_two_urls_with_one_file_name_get_their_own_files(server, tmp_path, cache) -> None:
    first, second = _model_bytes(tmp_path), b"other weights" * 10
    server.files["/a/weights.pth"], server.files["/b/weights.pth"] = first, second
    path_a = zoo.resolve_model(_url(server, "/a/weights.pth"))
    path_b = zoo.resolve_model(_url(server, "/b/weights.pth"))
    assert path_a != path_b and path_a.read_bytes() == first and path_b.read_bytes() == second


def test_cli_models_list_and_fetch(server, tmp_path, monkeypatch, cache) -> None:
    data = b"weights" * 100
    prefix = hashlib.sha256(data).hexdigest()[:8]
    name = f"tinynet-{prefix}.pth"
    server.files[f"/models/{name}"] = data
    backbone = zoo.ZooEntry("tinynet", _url(server, f"/models/{name}"), name, "tinynet", 1, "BSD", "t", None, prefix,
                            "torchvision file name", "backbone")  # fmt: skip
    _add(monkeypatch, backbone)
    runner = CliRunner()
    result = runner.invoke(app, ["models", "fetch", "tinynet", "-q"])
    assert result.exit_code == 0, result.output
    assert (cache / name).read_bytes() == data
    with pytest.raises(InputError, match="backbone"):
        zoo.resolve_model("tinynet")
    out = tmp_path / "list.json"
    monkeypatch.setenv("COLUMNS", "300")  # the whole table, the "cached" column included
    result = runner.invoke(app, ["models", "list", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "[green]" not in result.output and "[/" not in result.output  # a styled cell, not literal markup
    assert any(line.split("│")[-2].strip() == "yes" for line in result.output.splitlines() if "tinynet" in line)
    rows = {r["name"]: r for r in json.loads(out.read_text())}
    assert sum(r["kind"] == "sr" for r in rows.values()) >= 10
    assert rows["tinynet"]["cached"] and not rows["BSRGAN"]["cached"]
    assert rows["RealESRNet_x4plus"]["sha256"] == "TOFU" and rows["BSRGAN"]["sha256"] == "pinned"
    result = runner.invoke(app, ["models", "fetch", "no-such-model"])
    assert result.exit_code == 1 and "not a model name" in result.output


def test_table_is_consistent() -> None:
    names = [e.name.lower() for e in zoo.ALL]
    assert len(names) == len(set(names))
    for entry in zoo.ALL:
        assert entry.url.startswith("https://") and entry.filename
        if entry.kind == "backbone":  # torchvision names carry the first 8 hex digits of the sha256
            assert entry.filename.split("-")[-1].split(".")[0] == entry.sha256
        elif entry.sha256:
            assert len(entry.sha256) == 64 and int(entry.sha256, 16) >= 0 and entry.size
    assert zoo.find_entry("realesrgan_x4plus.pth") is zoo.find_entry("RealESRGAN_x4plus")
    assert {e.filename for e in zoo.BACKBONES} == {
        "alexnet-owt-7be5be79.pth",
        "vgg16-397923af.pth",
        "vgg19-dcbb9e9d.pth",
    }


def test_missing_backbone_error_names_the_fetch_command(monkeypatch, tmp_path) -> None:
    from realsr_cli.weights import find_weights

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("REALSR_WEIGHTS_DIR", raising=False)
    with pytest.raises(WeightsNotFoundError, match="realsr models fetch alexnet") as info:
        find_weights(["alexnet-owt-7be5be79.pth"], purpose="LPIPS")
    assert str(cache_dir()) in str(info.value)


@pytest.mark.parametrize("env", [{}, {"XDG_CACHE_HOME": "xdg"}, {"TORCH_HOME": "th", "XDG_CACHE_HOME": "xdg"}])
def test_the_models_cache_is_torch_hubs_without_importing_torch(tmp_path, monkeypatch, env) -> None:
    """The lean ``upscale`` finds exports without torch: the same folder as ``torch.hub.get_dir()``."""
    import torch.hub

    from realsr_cli.models.cache import cache_dir, hub_checkpoints

    for name in ("TORCH_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, str(tmp_path / value))
    expected = Path(torch.hub.get_dir()) / "checkpoints"
    assert hub_checkpoints() == expected == cache_dir()  # the rule without torch is torch's answer
