"""The report's figures as PNG bytes, half of them drawn in a forked child where possible.

A forked child (:mod:`bayes_scaling.presentation.report.forked`) draws every second figure
while this process draws the others; both hold the same figures in memory, so the bytes are
exactly those of drawing everything here. Whatever the child does not deliver is drawn here.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bayes_scaling.presentation.report import forked

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["figure_pngs", "png_bytes"]

_LENGTH = struct.Struct("<Q")


def png_bytes(fig: Figure, *, dpi: int) -> bytes:
    """One figure as PNG bytes on a white background."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def figure_pngs(figures: Sequence[Figure], *, dpi: int = 100) -> list[bytes]:
    """PNG bytes of each figure, in order."""
    figures = list(figures)
    theirs = list(range(1, len(figures), 2))
    child = (
        forked.start(lambda: _pack([png_bytes(figures[i], dpi=dpi) for i in theirs]))
        if theirs
        else forked.Forked(None, None)
    )
    out: list[bytes | None] = [None] * len(figures)
    try:
        for i in range(0, len(figures), 2):
            out[i] = png_bytes(figures[i], dpi=dpi)
    except BaseException:
        child.cancel()
        raise
    received = _unpack(child.result() or b"")
    if len(received) == len(theirs):
        for i, png in zip(theirs, received, strict=True):
            out[i] = png
    return [
        png if png is not None else png_bytes(fig, dpi=dpi)
        for png, fig in zip(out, figures, strict=True)
    ]


def _pack(pngs: list[bytes]) -> bytes:
    return b"".join(_LENGTH.pack(len(png)) + png for png in pngs)


def _unpack(data: bytes) -> list[bytes]:
    pngs, offset = [], 0
    while offset + _LENGTH.size <= len(data):
        (length,) = _LENGTH.unpack_from(data, offset)
        start = offset + _LENGTH.size
        if start + length > len(data):
            return []
        pngs.append(data[start : start + length])
        offset = start + length
    return pngs
