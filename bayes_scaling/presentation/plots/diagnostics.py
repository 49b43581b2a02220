"""Sampler diagnostics (rank plots, energy) and a posterior predictive check of the residuals."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bayes_scaling.core.constants import CI
from bayes_scaling.inference.convergence import average_ranks
from bayes_scaling.presentation.plots._common import (
    DATA_COLOR,
    MU_COLOR,
    Y_COLOR,
    legend,
    new_figure,
    note,
    palette,
    quantiles,
)
from bayes_scaling.presentation.plots.ticks import log_ticks

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bayes_scaling.inference.record import FitRecord


def plot_rank(fit: FitRecord, *, var_names: list[str] | None = None, bins: int = 20) -> Figure:
    """Rank histograms per chain (Vehtari et al. 2021): flat bars mean the chains agree.

    Parameters
    ----------
    fit : FitRecord
    var_names : list of str, optional
        Parameters (default: the sampled law and noise parameters).
    bins : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    post = fit.posterior
    names = var_names or [p for p in fit.param_names if float(post[p].std()) > 0]
    ncols = min(4, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = new_figure(
        ncols=ncols, nrows=nrows, width=2.4 * ncols + 0.4, height=1.9 * nrows + 0.7
    )
    n_chains = post.sizes["chain"]
    for ax, name in zip(axes.ravel(), names, strict=False):
        values = post[name].transpose("chain", "draw").values
        ranks = average_ranks(values)
        edges = np.linspace(0, ranks.size, bins + 1)
        expected = ranks.size / bins / n_chains
        for c in range(n_chains):
            counts, _ = np.histogram(ranks[c], bins=edges)
            offset = c * 1.25
            ax.stairs(
                offset + counts / expected * 0.5,
                edges,
                baseline=offset,
                fill=True,
                color=palette(c),
                alpha=0.75,
            )
            ax.axhline(offset + 0.5, color="#333333", lw=0.6, ls="--")
        ax.set_yticks(
            [c * 1.25 + 0.5 for c in range(n_chains)],
            [f"chain {c}" for c in range(n_chains)],
            fontsize=7,
        )
        ax.set_xticks([])
        ax.set_title(name, fontsize=9)
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    note(
        fig,
        "Rank histograms: draws of all chains ranked together, one histogram per chain. "
        "Bars near the dashed line (uniform) mean the chains mix; slopes or humps flag "
        "disagreement.",
    )
    return fig


def plot_energy(fit: FitRecord, *, bins: int = 40) -> Figure:
    """Marginal energy vs energy transitions (Betancourt 2016), with E-BFMI per chain.

    Returns
    -------
    matplotlib.figure.Figure
        The two histograms should overlap; E-BFMI below 0.3 signals poor exploration.
    """
    stats = fit.tree["sample_stats"].to_dataset()
    fig, axes = new_figure(width=5.6, height=3.6)
    ax = axes[0, 0]
    if "energy" not in stats:
        ax.text(0.5, 0.5, "no energy recorded by the sampler", ha="center", transform=ax.transAxes)
        note(fig, "Energy diagnostics need the sampler's energy statistic.")
        return fig
    energy = stats["energy"].transpose("chain", "draw").values
    centred = energy - energy.mean(axis=1, keepdims=True)
    transition = np.diff(energy, axis=1)
    bfmi = np.square(transition).mean(axis=1) / energy.var(axis=1)
    edges = np.histogram_bin_edges(np.r_[centred.ravel(), transition.ravel()], bins=bins)
    ax.hist(
        centred.ravel(),
        bins=edges,
        density=True,
        color=MU_COLOR,
        alpha=0.5,
        label="marginal energy",
    )
    ax.hist(
        transition.ravel(),
        bins=edges,
        density=True,
        color=Y_COLOR,
        alpha=0.5,
        label="energy transition",
    )
    ax.set(
        yticks=[],
        xlabel="energy (centred)",
        title="Energy: E-BFMI per chain " + ", ".join(f"{b:.2f}" for b in bfmi),
    )
    legend(ax)
    note(
        fig,
        "Overlapping histograms and E-BFMI >= 0.3 (Betancourt 2016) mean the sampler "
        "explores the posterior's energy levels well.",
    )
    return fig


def plot_residuals(fit: FitRecord, *, ci: float = CI, seed: int = 0) -> Figure:
    """Posterior predictive check of residuals on log-loss, against compute and as a histogram.

    Residual = log(observed loss) - log(expected loss, posterior median). Observed residuals
    are compared with replicated residuals drawn from the fitted noise model.

    Parameters
    ----------
    fit : FitRecord
    ci : float
        Probability of the predictive band.
    seed : int
        Seed of the replicated noise draws.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from bayes_scaling.questions.draws import law_draws

    law = fit.law
    inputs = {c: fit.runs.column(c)[None, None, :] for c in law.inputs}
    scale = fit.target_scale  # log(loss), or a real target over its spread
    log_mu = scale.forward(law.evaluate(law_draws(fit), inputs))
    observed = scale.forward(fit.runs.column("loss"))
    resid_draws = observed[None, None, :] - log_mu
    resid = np.median(resid_draws.reshape(-1, resid_draws.shape[-1]), axis=0)
    rng = np.random.default_rng(seed)
    params = {k: v.ravel() for k, v in fit.noise_draws(extra_dims=0).items()}
    noise = fit.noise.draw(rng, params, params["sigma"].shape)
    lo, _, hi = quantiles(noise[None, :], ci=ci)
    x_name = "C" if fit.runs.has("C") else (law.scale_axes or law.inputs)[0]
    x = fit.runs.column(x_name)
    what = "log(loss)" if scale.is_log else f"{law.target.name} / L_scale"
    fig, axes = new_figure(ncols=2, width=8.4, height=3.6)
    ax = axes[0, 0]
    ax.axhspan(lo, hi, color=Y_COLOR, alpha=0.2, lw=0, label=f"replicated noise, {ci:.0%}")
    ax.axhline(0, color="#444444", lw=0.7)
    outside = (resid < lo) | (resid > hi)
    ax.scatter(x[~outside], resid[~outside], s=10, color=DATA_COLOR, label="runs")
    ax.scatter(
        x[outside],
        resid[outside],
        s=16,
        color="#c0392b",
        label=f"outside the band ({int(outside.sum())})",
    )
    xscale = "log" if law.input_spec(x_name).scaling == "log" else "linear"
    ax.set(
        xscale=xscale, xlabel=x_name, ylabel=f"residual of {what}", title=f"Residuals vs {x_name}"
    )
    log_ticks(ax)
    legend(ax)
    ax = axes[0, 1]
    edges = np.histogram_bin_edges(np.r_[resid, noise], bins=30)
    ax.hist(
        noise,
        bins=edges,
        density=True,
        color=Y_COLOR,
        alpha=0.45,
        label="replicated (posterior predictive)",
    )
    ax.hist(
        resid, bins=edges, density=True, histtype="step", color=MU_COLOR, lw=1.6, label="observed"
    )
    ax.set(yticks=[], xlabel=f"residual of {what}", title="Residual distribution")
    legend(ax, loc="upper left")
    ax.set_ylim(top=ax.get_ylim()[1] * 1.3)
    coverage = 1 - outside.mean()
    note(
        fig,
        f"Posterior predictive check: {coverage:.0%} of runs fall inside the central "
        f"{ci:.0%} band of replicated noise ({fit.likelihood} likelihood on log-loss); "
        "well-calibrated noise puts about that share inside.",
    )
    return fig
