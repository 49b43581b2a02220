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

__all__ = ["CHILD_TIMEOUT", "ENV_SWITCH", "Forked", "allowed", "start"]

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

    def cancel(self) -> None:
        """Kill the child, if any, and forget its result."""
        if self._pid is not None and self._read_end is not None:
            os.close(self._read_end)
            _reap(self._pid, kill=True)
        self._pid = self._read_end = None


def start(work: Callable[[], bytes]) -> Forked:
    """Run ``work`` in a forked child when :func:`allowed`; collect with :meth:`Forked.result`."""
    if not allowed():
        return Forked(None, None)
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return Forked(None, None)
    try:
        with warnings.catch_warnings():
            # The warning is about locks held by other threads at the fork; the child only
            # runs ``work``, and a child that hangs is killed after CHILD_TIMEOUT.
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
            # The whole result first: a write larger than the pipe's buffer waits for the
            # reader, which may read only after its own work.
            result = work()
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(result)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return Forked(pid, read_end)


def _reap(pid: int, *, kill: bool) -> int | None:
    """Collect the child (killing it first when it may still run); its exit status."""
    try:
        if kill:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    except (ChildProcessError, ProcessLookupError):
        return None
    return os.waitstatus_to_exitcode(status)
