"""Figures drawn to PNG on the second CPU while the report is still being built.

Building a report's figures and drawing them are both single-threaded and take about the same
time. Drawing them only once all are built (:func:`~.pngs.figure_pngs`) leaves the second CPU
idle while this process builds. A :class:`DrawAhead` starts drawing as soon as the first figure
exists:

* :meth:`DrawAhead.add` takes each figure as it is built. When no child is drawing, it forks one
  (:func:`~.forked.start_stream`) to draw every figure not yet handed out, in order, sending
  each PNG as soon as it is done.
* :meth:`DrawAhead.pngs` then draws here, from the last figure backwards, whatever no child has
  delivered yet, taking deliveries in between, and stops once every figure has its bytes.

The children hold the same figures in memory, so the bytes are those of drawing here. A figure
changed after :meth:`DrawAhead.add` (matplotlib marks it stale), a figure list that is not the
one added, another dpi, a second call, or no fork at all (:func:`~.forked.allowed`): drawn here
as :func:`~.pngs.figure_pngs` draws.
"""

from __future__ import annotations

import struct
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bayes_scaling.presentation.report import forked, pngs

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["DrawAhead"]

#: A delivered figure: its index and the length of its PNG bytes, then the bytes.
_RECORD = struct.Struct("<IQ")


class DrawAhead:
    """PNG bytes of a report's figures, drawn in forked children while they are being built.

    Parameters
    ----------
    dpi : int
        Resolution of the PNGs (the HTML's).
    after : Forked, optional
        A child already at work (the report's PSIS-LOO row): no figure is handed out before it
        is done, so that the second CPU is not shared three ways.
    """

    def __init__(self, *, dpi: int, after: forked.Forked | None = None) -> None:
        self.dpi = int(dpi)
        self._after = after
        self._figures: list[Figure] = []
        self._handed = 0  # figures [0, _handed) went to a child
        self._child = forked.Forked(None, None)
        self._buffer = bytearray()
        self._delivered: dict[int, bytes] = {}
        self._enabled = forked.allowed()
        self._spent = False

    def add(self, fig: Figure) -> None:
        """Take a finished figure; start a child on every figure not yet handed out when no
        child is drawing."""
        fig.stale = False  # any later change marks it stale again (then it is drawn here)
        self._figures.append(fig)
        if self._enabled and not self._spent:
            self._collect()
            self._hand_out(self._figures, skip=set())

    def pngs(self, figures: Sequence[Figure], *, dpi: int) -> list[bytes]:
        """PNG bytes of ``figures`` (in order): the children's where they are valid, the rest
        drawn here, from the last backwards, while a child draws from the first not handed
        out."""
        figures = list(figures)
        usable = (
            self._enabled
            and not self._spent
            and dpi == self.dpi
            and [id(f) for f in figures] == [id(f) for f in self._figures]
        )
        if not usable:
            self.cancel()
            return pngs.figure_pngs(figures, dpi=dpi)
        out: dict[int, bytes] = {}
        try:
            for i in reversed(range(len(figures))):
                self._collect()
                for j, png in self._delivered.items():
                    if not figures[j].stale:
                        out.setdefault(j, png)
                self._hand_out(figures[:i], skip=set(out))
                if i not in out:
                    out[i] = pngs.png_bytes(figures[i], dpi=dpi)
                if len(out) == len(figures):
                    break
        finally:
            self.cancel()  # a child may still draw figures this process has drawn
        return [out[i] for i in range(len(figures))]

    def cancel(self) -> None:
        """Stop any child; :meth:`pngs` then draws everything here."""
        self._spent = True
        self._child.cancel()

    def _hand_out(self, figures: list[Figure], *, skip: set[int]) -> None:
        """When no child is drawing, fork one for ``figures`` not yet handed out (nor in
        ``skip``), first to last."""
        if self._child.running or self._handed >= len(figures):
            return
        if self._after is not None and not self._after.ready():
            return
        batch = [i for i in range(self._handed, len(figures)) if i not in skip]
        self._handed = len(figures)
        if not batch:
            return
        child = forked.start_stream(_drawer(list(figures), batch, self.dpi))
        if child.running:
            self._child = child
            weakref.finalize(self, child.cancel)  # a report never rendered leaves no child
        else:
            self._handed = batch[0]  # no child: these are drawn here

    def _collect(self) -> None:
        """Take the PNGs the child has sent so far; forget a dead child's partial record."""
        self._buffer.extend(self._child.read_ready())
        while len(self._buffer) >= _RECORD.size:
            index, length = _RECORD.unpack_from(self._buffer)
            end = _RECORD.size + length
            if len(self._buffer) < end:
                break
            self._delivered[index] = bytes(self._buffer[_RECORD.size : end])
            del self._buffer[:end]
        if not self._child.running:
            self._buffer.clear()


def _drawer(
    figures: list[Figure], batch: list[int], dpi: int
) -> Callable[[Callable[[bytes], None]], None]:
    """The child's work: draw ``figures[batch]`` in order, sending each as one record."""

    def work(send: Callable[[bytes], None]) -> None:
        for i in batch:
            png = pngs.png_bytes(figures[i], dpi=dpi)
            send(_RECORD.pack(i, len(png)) + png)

    return work
