"""exp, log and log1p in plain arithmetic: within 2 ulp of numpy, same special values, and the
same results inside a fast-math loop as alone."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from bayes_scaling.model import vector_math as vm

SMALLEST_NORMAL = np.finfo(float).tiny


@numba.njit(error_model="numpy")
def _each(fn, x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = fn(x[i])
    return out


@numba.njit(fastmath={"reassoc", "contract", "nsz", "arcp"}, error_model="numpy")
def _in_fast_loop(x):
    out = np.empty((3, x.shape[0]))
    total = 0.0
    for i in range(x.shape[0]):
        a = vm.exp(x[i])
        b = vm.log(x[i])
        c = vm.log1p(x[i])
        out[0, i], out[1, i], out[2, i] = a, b, c
        total += a
    return out, total


def _ulps(got, want):
    ok = np.isfinite(want) & (np.abs(want) >= SMALLEST_NORMAL)
    assert np.array_equal(np.isfinite(got[ok]), np.ones(ok.sum(), bool))
    return np.max(np.abs(got[ok] - want[ok]) / np.spacing(np.abs(want[ok])))


def _samples(rng, low, high, n=200_000):
    return rng.uniform(low, high, n)


def test_exp_within_two_ulp_over_the_whole_range():
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [_samples(rng, -708.3, 709.7), _samples(rng, -1, 1), rng.normal(0, 1e-9, 1000)]
    )
    assert _ulps(_each(vm.exp, x), np.exp(x)) <= 2


def test_log_within_two_ulp_including_subnormals_and_near_one():
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [
            np.exp(_samples(rng, -744, 709)),
            _samples(rng, 0.5, 2.0),
            1.0 + rng.normal(0, 1e-8, 10_000),
            np.array([5e-324, 1e-310, SMALLEST_NORMAL, np.finfo(float).max]),
        ]
    )
    assert _ulps(_each(vm.log, x), np.log(x)) <= 2


def test_log1p_within_two_ulp_for_tiny_large_and_negative_arguments():
    rng = np.random.default_rng(2)
    x = np.concatenate(
        [
            np.exp(_samples(rng, -744, 709)),
            -np.exp(_samples(rng, -744, -1e-9)),
            _samples(rng, -1, 1),
            rng.normal(0, 1e-17, 1000),
        ]
    )
    assert _ulps(_each(vm.log1p, x), np.log1p(x)) <= 2


SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, -1.0, 1.0, 709.9, -708.0, -746.0, -1e-300])


@pytest.mark.parametrize(
    ("fn", "reference"), [(vm.exp, np.exp), (vm.log, np.log), (vm.log1p, np.log1p)]
)
def test_special_values_match_numpy(fn, reference):
    with np.errstate(all="ignore"):
        want = reference(SPECIAL)
    got = _each(fn, SPECIAL)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    finite = np.isfinite(want)
    assert np.array_equal(got[~finite & ~np.isnan(want)], want[~finite & ~np.isnan(want)])
    assert np.allclose(got[finite], want[finite], rtol=4e-16, atol=0)


def test_exp_flushes_results_below_the_smallest_normal_to_zero():
    x = np.array([-708.4, -720.0, -745.2])
    assert np.all(_each(vm.exp, x) == 0.0)
    assert _each(vm.exp, np.array([-708.39]))[0] >= SMALLEST_NORMAL


def test_same_results_inside_a_fast_math_loop():
    """Reassociation allowed in the caller must not reach the functions' own operations."""
    x = np.random.default_rng(3).uniform(-5, 50, 10_001)
    out, total = _in_fast_loop(x)
    assert np.array_equal(out[0], _each(vm.exp, x))
    assert np.array_equal(out[1], _each(vm.log, x), equal_nan=True)
    assert np.array_equal(out[2], _each(vm.log1p, x), equal_nan=True)
    assert total == pytest.approx(np.sum(out[0]), rel=1e-13)
