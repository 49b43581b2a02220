"""Likelihoods of the observed target given the law's curve: one object per family.

A :class:`Likelihood` owns everything about its noise model: the names and default priors of its
noise parameters, its PyMC term (used when fitting), its numpy pointwise log-density (for LOO and
the saved ``log_likelihood`` group) and its predictive noise draws (for ``y``). Every other module
asks the object instead of switching on a name, so adding a family is adding one class here.

All families act on log(loss): ``log(loss_i) = log(mu_i) + eps_i``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from bayes_scaling.core.errors import PriorError

__all__ = ["LIKELIHOODS", "Likelihood", "Normal", "StudentT", "get_likelihood"]


class Likelihood:
    """Base class: a noise model of log(loss) around log(mu).

    Attributes
    ----------
    name : str
        Name used in settings, files and the CLI (``normal``, ``student_t``).
    noise_params : tuple of str
        Noise parameters, sampled beside the law's (``sigma``, ``nu``).
    default_priors : dict of str to str
        Default prior of each noise parameter, unit-free (sigma is on the log scale).
    """

    name: ClassVar[str] = ""
    noise_params: ClassVar[tuple[str, ...]] = ()
    default_priors: ClassVar[dict[str, str]] = {}

    def pymc_observed(
        self, name: str, log_mu: Any, noise: Mapping[str, Any], observed: Any, *, dims: str
    ) -> Any:
        """Add the observed variable ``name`` to the current PyMC model."""
        raise NotImplementedError

    def logpdf(self, x: np.ndarray, log_mu: np.ndarray, noise: Mapping[str, Any]) -> np.ndarray:
        """Pointwise log-density of observed log-values ``x`` (numpy, broadcasting)."""
        raise NotImplementedError

    def draw(
        self, rng: np.random.Generator, noise: Mapping[str, Any], size: tuple[int, ...]
    ) -> np.ndarray:
        """Noise draws ``eps`` on the log scale with shape ``size`` (noise broadcast to it)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<Likelihood {self.name} on log(loss)>"


#: log Gamma elementwise (``scipy.special.gammaln`` without importing scipy.special).
_lgamma = np.vectorize(math.lgamma, otypes=[float])


class Normal(Likelihood):
    """``log(loss) ~ Normal(log(mu), sigma)``: multiplicative log-normal noise."""

    name = "normal"
    noise_params = ("sigma",)
    default_priors = {"sigma": "HalfNormal(0.1)"}

    def pymc_observed(self, name, log_mu, noise, observed, *, dims):
        import pymc as pm

        return pm.Normal(name, mu=log_mu, sigma=noise["sigma"], observed=observed, dims=dims)

    def logpdf(self, x, log_mu, noise):
        from scipy import stats

        return stats.norm.logpdf(x, loc=log_mu, scale=noise["sigma"])

    def draw(self, rng, noise, size):
        return np.asarray(noise["sigma"]) * rng.standard_normal(size)


class StudentT(Likelihood):
    """``log(loss) ~ StudentT(nu, log(mu), sigma)``: robust to outlier runs.

    ``nu ~ Gamma(2, 0.1)`` is the Juarez & Steel (2010) prior for Student-t degrees of freedom.
    """

    name = "student_t"
    noise_params = ("sigma", "nu")
    default_priors = {"sigma": "HalfNormal(0.1)", "nu": "Gamma(2, 0.1)"}

    def pymc_observed(self, name, log_mu, noise, observed, *, dims):
        import pymc as pm

        return pm.StudentT(
            name, nu=noise["nu"], mu=log_mu, sigma=noise["sigma"], observed=observed, dims=dims
        )

    def logpdf(self, x, log_mu, noise):
        # the normalising constant depends on nu and sigma only: computed once per draw, not
        # once per (draw, run) as scipy.stats.t.logpdf would; math.lgamma spares a report or a
        # design question importing scipy.special (about 0.25 s) for a few thousand values
        nu = np.asarray(noise["nu"], dtype=float)
        sigma = np.asarray(noise["sigma"], dtype=float)
        const = (
            _lgamma(0.5 * (nu + 1.0)) - _lgamma(0.5 * nu) - 0.5 * np.log(nu * np.pi) - np.log(sigma)
        )
        z = (np.asarray(x, dtype=float) - log_mu) / sigma
        return const - 0.5 * (nu + 1.0) * np.log1p(z * z / nu)

    def draw(self, rng, noise, size):
        return np.asarray(noise["sigma"]) * rng.standard_t(noise["nu"], size=size)


#: The likelihood families by name.
LIKELIHOODS: dict[str, Likelihood] = {cls.name: cls() for cls in (StudentT, Normal)}


def get_likelihood(likelihood: str | Likelihood) -> Likelihood:
    """The :class:`Likelihood` named ``likelihood``; PriorError for an unknown name."""
    if isinstance(likelihood, Likelihood):
        return likelihood
    if likelihood not in LIKELIHOODS:
        raise PriorError(
            f"unknown likelihood {likelihood!r}; choose one of {', '.join(LIKELIHOODS)}"
        )
    return LIKELIHOODS[likelihood]
