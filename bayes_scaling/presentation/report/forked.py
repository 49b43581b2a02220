"""Report work done in a forked child on the second CPU, with a fallback for every failure.

Building a report is single-threaded Python: its figures (about 0.1-0.3 s each) and its PSIS-LOO
row (about a second, most of it importing arviz-stats and scipy.stats). Where the operating
system can fork and this process may use at least two CPUs, :func:`start` runs such work in a
forked child while this process goes on; the child holds the same objects in memory, so its
result is the one this process would compute. The child sends bytes back through a pipe.

:meth:`Forked.result` gives None whenever the child cannot deliver (no ``os.fork``, one CPU,
``BAYES_SCALING_REPORT_FORK=0``, a fork or child that fails, or a child silent for
:data:`CHILD_TIMEOUT` seconds, which is then killed): the caller then does the work itself.
"""

from __future__ import annotations

import os
import select
import signal
import warnings
from collections.abc import Callable

from bayes_scaling.core.machine import available_cores, switched_on

__all__ = ["CHILD_TIMEOUT", "ENV_SWITCH", "Forked", "allowed", "start", "start_stream"]

ENV_SWITCH = "BAYES_SCALING_REPORT_FORK"
#: Seconds a child may stay silent, once its result is asked for, before it is killed.
CHILD_TIMEOUT = 120.0


def allowed() -> bool:
    """Whether report work may go to a forked child here."""
    return switched_on(ENV_SWITCH) and hasattr(os, "fork") and available_cores() > 1


class Forked:
    """The pending bytes of a function run in a forked child (see :func:`start`)."""

    def __init__(self, pid: int | None, read_end: int | None) -> None:
        self._pid, self._read_end = pid, read_end

    def result(self) -> bytes | None:
        """The child's bytes; None when it failed, stayed silent too long, or never ran."""
        if self._pid is None or self._read_end is None:
            return None
        pid, read_end = self._pid, self._read_end
        self._pid = self._read_end = None
        data, finished = bytearray(), False
        try:
            while True:
                ready, _, _ = select.select([read_end], [], [], CHILD_TIMEOUT)
                if not ready:
                    break
                chunk = os.read(read_end, 1 << 20)
                if not chunk:
                    finished = True
                    break
                data.extend(chunk)
        finally:
            os.close(read_end)
            status = _reap(pid, kill=not finished)
        return bytes(data) if finished and status == 0 else None

    @property
    def running(self) -> bool:
        """Whether the child may still send bytes (it was started and its pipe is open)."""
        return self._pid is not None and self._read_end is not None

    def ready(self) -> bool:
        """Whether the child has sent bytes or ended, without reading them (for a child that
        sends its whole result at the end, as :func:`start`'s do: its work is done). True for a
        child that never ran or was already read."""
        if not self.running:
            return True
        try:
            return bool(select.select([self._read_end], [], [], 0.0)[0])
        except (OSError, ValueError):
            return True

    def read_ready(self, *, wait: float = 0.0) -> bytes:
        """Bytes the child has sent so far, waiting at most ``wait`` seconds for the first.

        When the child closes its pipe it is collected and :attr:`running` turns False; if it
        then failed, the bytes already read stay valid (a streaming caller frames its records).
        """
        if not self.running:
            return b""
        data = bytearray()
        read_end = self._read_end
        while True:
            ready, _, _ = select.select([read_end], [], [], wait if not data else 0.0)
            if not ready:
                return bytes(data)
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                os.close(read_end)
                _reap(self._pid, kill=False)
                self._pid = self._read_end = None
                return bytes(data)
            data.extend(chunk)

    def cancel(self) -> None:
        """Kill the child, if any, and forget its result."""
        if self._pid is not None and self._read_end is not None:
            os.close(self._read_end)
            _reap(self._pid, kill=True)
        self._pid = self._read_end = None


def start(work: Callable[[], bytes]) -> Forked:
    """Run ``work`` in a forked child when :func:`allowed`; collect with :meth:`Forked.result`."""
    # The whole result first: a write larger than the pipe's buffer waits for the reader, which
    # may read only after its own work.
    return _fork(lambda write_end: _write_all(write_end, work()))


def start_stream(work: Callable[[Callable[[bytes], None]], None]) -> Forked:
    """Run ``work(send)`` in a forked child when :func:`allowed`; each ``send(chunk)`` writes
    to the pipe at once, for :meth:`Forked.read_ready` to take as it comes."""
    return _fork(lambda write_end: work(lambda chunk: _write_all(write_end, chunk)))


def _fork(child_main: Callable[[int], None]) -> Forked:
    if not allowed():
        return Forked(None, None)
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return Forked(None, None)
    _widen(read_end)
    try:
        with warnings.catch_warnings():
            # The warning is about locks held by other threads at the fork; the child only
            # runs its work, and a child that hangs is killed after CHILD_TIMEOUT.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except Exception:  # noqa: BLE001 - no child: the caller does the work
        os.close(read_end)
        os.close(write_end)
        return Forked(None, None)
    if pid == 0:  # the child: never returns into the caller's code
        status = 1
        try:
            os.close(read_end)
            child_main(write_end)
            os.close(write_end)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return Forked(pid, read_end)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _widen(fd: int) -> None:
    """Ask for a 1 MiB pipe buffer (Linux), so a child rarely waits for its reader."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass


def _reap(pid: int, *, kill: bool) -> int | None:
    """Collect the child (killing it first when it may still run); its exit status."""
    try:
        if kill:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    except (ChildProcessError, ProcessLookupError):
        return None
    return os.waitstatus_to_exitcode(status)
