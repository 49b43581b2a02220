"""The likelihood objects against scipy's reference densities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bayes_scaling.model.likelihood import LIKELIHOODS, get_likelihood


def _case(seed: int = 0):
    rng = np.random.default_rng(seed)
    noise = {"sigma": rng.gamma(2.0, 0.05, (3, 50, 1)), "nu": rng.gamma(2.0, 10.0, (3, 50, 1))}
    log_mu = rng.normal(size=(3, 50, 20))
    x = log_mu[0, 0] + 0.1 * rng.standard_t(3, 20)
    return x, log_mu, noise


def test_student_t_log_density_matches_scipy_including_small_nu():
    x, log_mu, noise = _case()
    noise["nu"][0, :5] = 0.3  # heavy tails: the closed form must stay exact there too
    ours = get_likelihood("student_t").logpdf(x, log_mu, noise)
    reference = stats.t.logpdf(x, df=noise["nu"], loc=log_mu, scale=noise["sigma"])
    np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=1e-10)


def test_normal_log_density_matches_scipy():
    x, log_mu, noise = _case(1)
    ours = get_likelihood("normal").logpdf(x, log_mu, noise)
    np.testing.assert_allclose(ours, stats.norm.logpdf(x, loc=log_mu, scale=noise["sigma"]))


@pytest.mark.parametrize("name", list(LIKELIHOODS))
def test_noise_draws_have_the_requested_shape(name):
    _, _, noise = _case(2)
    eps = get_likelihood(name).draw(np.random.default_rng(0), noise, (3, 50, 7))
    assert eps.shape == (3, 50, 7) and np.isfinite(eps).mean() > 0.99
