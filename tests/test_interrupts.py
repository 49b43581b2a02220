"""A Ctrl-C inside ``interrupts_kept`` is raised at the end of the block, even if swallowed."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from bayes_scaling.core.interrupts import interrupts_kept


@pytest.fixture
def python_handler():
    """Python's own SIGINT handler in place for the test (a test runner may have another)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(1000):  # the handler runs between bytecodes of the main thread
        pass


def test_a_ctrl_c_inside_the_block_is_raised_at_its_end(python_handler):
    reached_the_end = False
    with pytest.raises(KeyboardInterrupt):
        with interrupts_kept():
            try:
                _ctrl_c()
            except BaseException:  # noqa: BLE001 - the swallowing this guards against
                pytest.fail("the first Ctrl-C must be kept for the end of the block")
            reached_the_end = True
    assert reached_the_end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_ctrl_c_goes_to_the_previous_handler_at_once(python_handler):
    with pytest.raises(KeyboardInterrupt):
        with interrupts_kept():
            _ctrl_c()
            with pytest.raises(KeyboardInterrupt):
                _ctrl_c()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_no_ctrl_c_no_exception_and_the_handler_is_restored(python_handler):
    with interrupts_kept():
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_sigint_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts_kept():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            _ctrl_c()
    finally:
        signal.signal(signal.SIGINT, previous)


def test_outside_the_main_thread_nothing_changes(python_handler):
    seen = []

    def worker():
        with interrupts_kept():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]


def _swallows_ctrl_c(*args, **kwargs):
    """As when the SIGINT lands in llvmlite's ctypes callback: printed, dropped, work goes on."""
    try:
        _ctrl_c()
    except KeyboardInterrupt:
        pass
    return object()


@pytest.mark.parametrize("where", ["compile", "stored model"])
def test_a_swallowed_ctrl_c_while_getting_the_model_stops_the_fit(
    python_handler, monkeypatch, where
):
    """A compile, or a load of the model's entry on disk (numba loads cached code)."""
    from collections import OrderedDict

    from bayes_scaling.inference import sampling
    from bayes_scaling.inputs import datasets

    def never(*args, **kwargs):
        pytest.fail("sampling started after Ctrl-C")

    monkeypatch.setattr(sampling, "_COMPILED", OrderedDict())
    if where == "compile":
        monkeypatch.setattr(sampling, "compile_model", _swallows_ctrl_c)
        monkeypatch.setattr(sampling.store, "load_model", lambda key, data: None)  # no entry
    else:
        monkeypatch.setattr(sampling.store, "load_model", _swallows_ctrl_c)
    monkeypatch.setattr(sampling, "run_nutpie", never)
    with pytest.raises(KeyboardInterrupt):
        sampling.sample(datasets.chinchilla_like(seed=1), law="chinchilla")
