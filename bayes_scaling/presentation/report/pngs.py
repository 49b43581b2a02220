"""The report's figures as PNG bytes, drawn in two processes where the machine allows.

Drawing a figure is single-threaded Python (matplotlib's artists, ticks and text layout), about
0.1-0.3 s per figure, and a report has about ten. Where the operating system can fork and this
process may use at least two CPUs, a forked child draws every second figure while this process
draws the others; the child sends its PNGs back through a pipe. Both processes hold the same
figures in memory, so the bytes are exactly those of drawing everything here.

Any failure falls back to drawing the rest here: no ``os.fork`` (Windows), one CPU, a child that
fails or does not answer within :data:`CHILD_TIMEOUT` seconds (it is then killed), or
``BAYES_SCALING_PARALLEL_FIGURES=0``.
"""

from __future__ import annotations

import io
import os
import select
import signal
import struct
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CHILD_TIMEOUT", "ENV_SWITCH", "figure_pngs", "png_bytes"]

ENV_SWITCH = "BAYES_SCALING_PARALLEL_FIGURES"
#: Seconds the child may take beyond this process's half before its figures are drawn here.
CHILD_TIMEOUT = 120.0
_LENGTH = struct.Struct("<Q")


def png_bytes(fig: Figure, *, dpi: int) -> bytes:
    """One figure as PNG bytes on a white background."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _parallel_allowed(n_figures: int) -> bool:
    off = os.environ.get(ENV_SWITCH, "1").strip().lower() in {"0", "false", "no", "off"}
    return not off and n_figures > 1 and hasattr(os, "fork") and _cpus() > 1


def figure_pngs(figures: Sequence[Figure], *, dpi: int = 100) -> list[bytes]:
    """PNG bytes of each figure, in order (see the module docstring for the two processes)."""
    figures = list(figures)
    if not _parallel_allowed(len(figures)):
        return [png_bytes(fig, dpi=dpi) for fig in figures]
    theirs_index = list(range(1, len(figures), 2))
    try:
        pid, read_end = _fork_child([figures[i] for i in theirs_index], dpi)
    except Exception:  # noqa: BLE001 - no child: draw everything here
        return [png_bytes(fig, dpi=dpi) for fig in figures]
    out: list[bytes | None] = [None] * len(figures)
    finished = False
    try:
        for i in range(0, len(figures), 2):
            out[i] = png_bytes(figures[i], dpi=dpi)
        received, finished = _receive(read_end, len(theirs_index))
    finally:
        os.close(read_end)
        _reap(pid, kill=not finished)
    for i, png in zip(theirs_index, received, strict=False):
        out[i] = png
    return [
        png if png is not None else png_bytes(fig, dpi=dpi)
        for png, fig in zip(out, figures, strict=True)
    ]


def _fork_child(figures: list[Figure], dpi: int) -> tuple[int, int]:
    """Fork a child that writes each figure's PNG (length-prefixed) to a pipe, then exits."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # The warning is about locks held by other threads at the fork; the child only draws
        # figures, and a child that hangs is killed after CHILD_TIMEOUT.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        status = 1
        try:
            os.close(read_end)
            # All figures first: a write larger than the pipe's buffer waits for the reader,
            # which reads only after drawing its own half.
            pngs = [png_bytes(fig, dpi=dpi) for fig in figures]
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(b"".join(_LENGTH.pack(len(png)) + png for png in pngs))
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _receive(read_end: int, n: int) -> tuple[list[bytes], bool]:
    """Up to ``n`` PNGs from the child, and whether it closed the pipe (False: it stayed
    silent for :data:`CHILD_TIMEOUT` seconds)."""
    data = bytearray()
    while True:
        ready, _, _ = select.select([read_end], [], [], CHILD_TIMEOUT)
        if not ready:
            return _unpack(data, n), False
        chunk = os.read(read_end, 1 << 20)
        if not chunk:
            return _unpack(data, n), True
        data.extend(chunk)


def _unpack(data: bytearray, n: int) -> list[bytes]:
    pngs, offset = [], 0
    while len(pngs) < n and offset + _LENGTH.size <= len(data):
        (length,) = _LENGTH.unpack_from(data, offset)
        start = offset + _LENGTH.size
        if start + length > len(data):
            break
        pngs.append(bytes(data[start : start + length]))
        offset = start + length
    return pngs


def _reap(pid: int, *, kill: bool) -> None:
    """Collect the child, killing it first when it may still be running."""
    try:
        if kill:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ChildProcessError, ProcessLookupError):
        pass
