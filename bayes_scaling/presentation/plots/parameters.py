"""Posteriors of the law's parameters next to published values (reference marks, cited)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bayes_scaling.core.constants import CI
from bayes_scaling.core.errors import QuestionError
from bayes_scaling.core.intervals import summarize
from bayes_scaling.presentation.formatting import number
from bayes_scaling.presentation.plots._common import MU_COLOR, new_figure, note, palette, quantiles

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bayes_scaling.inference.record import FitRecord

_MARKERS = ("v", "D", "s", "^", "o")


def published_values(fit: FitRecord) -> dict[str, dict]:
    """The law's published parameter sets (``[published.*]`` in its TOML), keyed by short name.

    Each value is a dict of parameter values plus ``citation``.
    """
    return {key: dict(values) for key, values in (fit.law.published or {}).items()}


def plot_parameters(
    fit: FitRecord,
    *,
    params: list[str] | None = None,
    ci: float = CI,
    published: bool = True,
    bins: int = 40,
) -> Figure:
    """One panel per parameter: posterior histogram, its central interval and published values.

    Parameters
    ----------
    fit : FitRecord
    params : list of str, optional
        Parameters to show (default: the law's parameters that were sampled).
    ci : float
        Probability of the interval drawn under each histogram.
    published : bool
        Mark published estimates (Hoffmann et al. 2022, Besiroglu et al. 2024 / Epoch AI,
        Kaplan et al. 2020, as listed in the law's TOML) and cite them in the figure note.
    bins : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    post = fit.posterior
    names = list(params) if params else [p for p in fit.law.param_names if float(post[p].std()) > 0]
    unknown = [p for p in names if p not in post]
    if unknown:
        raise QuestionError(f"unknown parameter(s) {unknown}; the fit has {list(fit.param_names)}")
    if not names:
        raise QuestionError("no sampled parameter to plot: every law parameter is fixed")
    refs = published_values(fit) if published else {}
    ncols = min(3, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = new_figure(
        ncols=ncols, nrows=nrows, width=3.0 * ncols + 0.4, height=2.3 * nrows + 0.6
    )
    used = {}
    for ax, name in zip(axes.ravel(), names, strict=False):
        draws = post[name].values.ravel()
        log = bool(draws.min() > 0 and draws.max() / draws.min() > 20)
        values = np.log10(draws) if log else draws
        lo, med, hi = quantiles(values[None, :], ci=ci)
        ax.hist(values, bins=bins, color=MU_COLOR, alpha=0.55, density=True)
        ax.hlines(0, lo, hi, color=MU_COLOR, lw=5, label=f"posterior {ci:.0%}")
        ax.plot([med], [0], "o", color="white", markeredgecolor=MU_COLOR, ms=5)
        for j, (key, ref) in enumerate(refs.items()):
            if name not in ref:
                continue
            v = float(ref[name])
            x = np.log10(v) if log else v
            ax.axvline(x, color=palette(j + 1), lw=1.2, ls="--")
            ax.plot(
                [x],
                [0.92],
                transform=ax.get_xaxis_transform(),
                marker=_MARKERS[j % 5],
                color=palette(j + 1),
                ms=6,
                ls="none",
                label=_short_label(key, ref),
            )
            used[key] = ref
        ax.set_yticks([])
        label = f"log10 {name}" if log else name
        iv = summarize(draws, ci=ci)
        ax.set_title(
            f"{label}: {number(iv['median'])} [{number(iv['lower'])}, {number(iv['upper'])}]",
            fontsize=8.5,
        )
        ax.tick_params(labelsize=7.5)
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    for ax in axes.ravel()[1 : len(names)]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(
        handles,
        labels,
        loc="outside upper center",
        ncols=min(4, len(labels)),
        fontsize=7.5,
        frameon=False,
    )
    cites = "; ".join(f"{_short_label(k, v)}: {v.get('citation', k)}" for k, v in used.items())
    note(
        fig,
        f"Posterior of each parameter (median and central {ci:.0%} interval in the titles; "
        "log10 axis for parameters spanning decades)."
        + (f" Reference marks: {cites}." if cites else " No published values to compare."),
    )
    return fig


def _short_label(key: str, ref: dict) -> str:
    """'hoffmann2022' -> 'Hoffmann 2022'; 'epoch2024' -> 'Epoch AI 2024'."""
    digits = "".join(ch for ch in key if ch.isdigit())
    word = key[: len(key) - len(digits)] if digits and key.endswith(digits) else key
    word = {"epoch": "Epoch AI"}.get(word, word.capitalize())
    return f"{word} {digits}".strip()
