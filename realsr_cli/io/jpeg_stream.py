"""Where a JPEG stream ends: walk its markers (ITU-T T.81 B.1) to the end-of-image marker.

Phone "motion photos" and some cameras append data (a video, a second image) after the JPEG's end-of-image
(EOI) marker; the picture is the bytes up to EOI. A file whose stream stops before EOI is truncated. Marker
segments are skipped by their length (so EXIF thumbnails, which hold their own EOI, are never mistaken for the
end); entropy-coded data after each start-of-scan runs to the next marker that is not a stuffed ``FF 00`` or a
restart marker ``FF D0``-``FF D7``.
"""

from __future__ import annotations

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0-7 carry no length


def jpeg_end(data: bytes) -> int | None:
    """Length of the JPEG stream at the start of ``data`` (through its EOI marker); None when EOI is missing."""
    if data[:2] != b"\xff\xd8":
        return None
    pos, size = 2, len(data)
    while pos < size:
        if data[pos] != 0xFF:
            return None
        while pos < size and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos >= size:
            return None
        marker = data[pos]
        pos += 1
        if marker == EOI:
            return pos
        if marker in STANDALONE or marker == SOI:
            continue
        if pos + 2 > size:
            return None
        pos += int.from_bytes(data[pos : pos + 2], "big")
        if marker == SOS:
            pos = _scan_end(data, pos)
    return None


def _scan_end(data: bytes, pos: int) -> int:
    """Position of the first marker after entropy-coded data starting at ``pos`` (``len(data)`` when none)."""
    size = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= size:
            return size
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1 if following == 0xFF else 2
            continue
        return pos
