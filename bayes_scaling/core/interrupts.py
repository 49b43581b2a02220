"""Ctrl-C that no library can swallow.

A model's first compile on a machine runs Python inside LLVM's callbacks (llvmlite's object
cache is a ctypes callback), and an exception raised in a ctypes callback is printed and dropped:
a Ctrl-C during that compile was lost with a traceback on screen, and the sampling that followed
ran to the end. Inside :func:`interrupts_kept` a first Ctrl-C is remembered and raised as
KeyboardInterrupt when the block ends (the compile finishes first: a few seconds, 10-30 s the
first time on a machine); a second one is handed to the previous handler at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["interrupts_kept"]


@contextmanager
def interrupts_kept() -> Iterator[None]:
    """Raise KeyboardInterrupt at the end of the block if Ctrl-C arrived inside it.

    A second Ctrl-C goes to the handler in place before the block (normally Python's, which
    raises KeyboardInterrupt at once); that handler is restored afterwards. Nothing changes
    outside the main thread, or when SIGINT is ignored or left to the system (``SIG_IGN``,
    ``SIG_DFL``: a background process or worker).
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return
    seen: list[int] = []

    def remember(signum, frame):
        seen.append(signum)
        if len(seen) > 1:
            previous(signum, frame)

    signal.signal(signal.SIGINT, remember)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if seen:
        raise KeyboardInterrupt
