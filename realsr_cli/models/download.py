"""Downloading a weights file into the cache: verified, atomic, resumable, with a progress bar.

The bytes go to ``<file>.part`` beside the target; an interrupted download keeps it and the next attempt asks the
server for the rest (HTTP ``Range``), starting over when the server ignores the range. The finished ``.part`` is
hashed, checked against the expected sha256 (or sha256 prefix) when one is known, and only then renamed onto the
target, so the cache never holds a partial or unverified file under the real name. A lock file lets several
processes (shards of one job) share a cache: the first downloads, the others wait and reuse the file.
"""

from __future__ import annotations

import hashlib
import http.client
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from realsr_cli import __version__
from realsr_cli.errors import WeightsNotFoundError
from realsr_cli.io.locks import file_lock
from realsr_cli.models.cache import CHUNK, environ_offline, hash_matches, remember, verify_cached

TIMEOUT_S = 30.0


class DownloadError(WeightsNotFoundError):
    """A file that could not be downloaded: offline, HTTP error, interrupted or failing its hash."""


def _where(dest: Path, url: str) -> str:
    return f"download {url} by hand and put it at {dest}"


def _open(url: str, offset: int):
    request = urllib.request.Request(url, headers={"User-Agent": f"realsr/{__version__}"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    return urllib.request.urlopen(request, timeout=TIMEOUT_S)  # https/http URLs of weights files


def _hash_prefix(part: Path, digest: Any) -> None:
    with part.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)


def _stream(url: str, dest: Path, part: Path, quiet: bool) -> str:
    """Fetch ``url`` into ``part`` (resuming what it holds); the sha256 of the whole file."""
    offset = part.stat().st_size if part.is_file() else 0
    try:
        response = _open(url, offset)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the range is past the end: the .part is unusable, start over
            part.unlink()
            return _stream(url, dest, part, quiet)
        raise DownloadError(f"{dest.name}: HTTP {exc.code} {exc.reason} from {url}; {_where(dest, url)}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"{dest.name}: not in the cache and cannot be downloaded ({reason}); {_where(dest, url)}"
        ) from None
    with response:
        if "text/html" in (response.headers.get("Content-Type") or ""):
            raise DownloadError(f"{dest.name}: {url} returned a web page, not the file; {_where(dest, url)}")
        resumed = offset > 0 and response.status == 206
        digest = hashlib.sha256()
        if resumed:
            _hash_prefix(part, digest)
        else:
            offset = 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        _copy(response, part, "ab" if resumed else "wb", digest, offset, total, dest.name, quiet)
    return digest.hexdigest()


def _copy(
    response: Any, part: Path, mode: str, digest: Any, done: int, total: int | None, label: str, quiet: bool
) -> None:
    from realsr_cli.console import make_progress

    with make_progress(quiet) as progress, part.open(mode) as out:
        task = progress.add_task(f"fetching {label}", total=total, completed=done, status="bytes")
        try:
            for block in iter(lambda: response.read(CHUNK), b""):
                out.write(block)
                digest.update(block)
                progress.advance(task, len(block))
                done += len(block)
        except (http.client.IncompleteRead, OSError) as exc:
            out.flush()
            raise DownloadError(
                f"{label}: download interrupted after {done} bytes ({type(exc).__name__}); "
                f"run the command again to resume from {part}"
            ) from None
        if total is not None and done < total:
            raise DownloadError(
                f"{label}: download interrupted after {done} of {total} bytes; run the command again to resume"
            )


def download(url: str, dest: Path, sha256: str | None = None, quiet: bool = False) -> Path:
    """``dest`` from the cache, else downloaded from ``url`` and verified; one clear error when that fails."""
    with file_lock(dest.with_name(dest.name + ".lock")):
        if dest.is_file():
            verify_cached(dest, sha256, url)
            return dest
        if environ_offline():
            raise DownloadError(f"{dest.name}: not in the cache and REALSR_OFFLINE is set; {_where(dest, url)}")
        part = dest.with_name(dest.name + ".part")
        digest = _stream(url, dest, part, quiet)
        if sha256 and not hash_matches(digest, sha256):
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{dest.name}: downloaded file has sha256 {digest[:16]}..., expected {sha256[:16]}... "
                f"(removed; the server sent something else): {_where(dest, url)}"
            )
        part.replace(dest)
        remember(dest, digest, url)
        return dest
