"""Hand-made posteriors for the decision questions: no sampling, known answers."""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
import xarray as xr

from bayes_scaling.inference.record import FitRecord
from bayes_scaling.inference.settings import FitSettings
from bayes_scaling.inputs.laws import get_law
from bayes_scaling.model.likelihood import get_likelihood
from bayes_scaling.model.target import TargetScale

#: Epoch AI's refit of the Chinchilla law (Besiroglu et al. 2024).
EPOCH = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}
#: Posterior standard deviations used for the spread of the fake draws.
SPREAD = {"E": 0.02, "A": 30.0, "B": 150.0, "alpha": 0.01, "beta": 0.01}


def fake_fit(
    law="chinchilla",
    *,
    center=None,
    spread=None,
    chains: int = 2,
    draws: int = 250,
    seed: int = 0,
    likelihood: str = "normal",
    sigma: float = 0.02,
):
    """A ScalingFit-like object whose posterior holds Normal draws around ``center``."""
    law = get_law(law)
    center = dict(EPOCH if center is None else center)
    spread = SPREAD if spread is None else spread
    rng = np.random.default_rng(seed)
    shape = (chains, draws)
    data = {
        name: (("chain", "draw"), value + spread.get(name, 0.0) * rng.standard_normal(shape))
        for name, value in center.items()
    }
    data["sigma"] = (("chain", "draw"), np.full(shape, sigma))
    data["nu"] = (("chain", "draw"), np.full(shape, 5.0))
    posterior = xr.Dataset(data, coords={"chain": np.arange(chains), "draw": np.arange(draws)})
    runs = SimpleNamespace(flops_per_token=6.0, has=lambda name: False)
    fake = SimpleNamespace(
        posterior=posterior,
        law=law,
        runs=runs,
        likelihood=likelihood,
        noise=get_likelihood(likelihood),
        settings=FitSettings(likelihood=likelihood, seed=0),
        seed=0,
        info={},
        pooling=None,
        refs={},
        target_scale=TargetScale(),
    )
    # the record's own method, on the fake's posterior and likelihood object
    fake.noise_draws = functools.partial(FitRecord.noise_draws, fake)
    return fake
