"""The report as data: headline answers, tables, figures and reproducibility facts of a fit.

:func:`build_report` asks the fit every question the report shows and returns a :class:`Report`;
rendering it to HTML (:meth:`Report.to_html`) is a separate, cheap step.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayes_scaling.core.constants import CI
from bayes_scaling.core.errors import BayesScalingError, QuestionError
from bayes_scaling.core.intervals import check_ci
from bayes_scaling.presentation.report import forked
from bayes_scaling.presentation.report.tables import (  # noqa: F401  (re-exported for callers and tests)
    _quiet,
    allocation_table,
    data_table,
    fit_quality,
    forecast_table,
    gate_info,
    loo_rows,
    parameter_table,
    prior_table,
    target_table,
    versions,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bayes_scaling.inference.record import FitRecord
    from bayes_scaling.presentation.report.ahead import DrawAhead


#: Resolution of the figures in the HTML page.
HTML_DPI = 100


@dataclass
class Report:
    """Everything a report shows, before any HTML.

    Attributes
    ----------
    title : str
    ci : float
        Probability of every interval in the report.
    compute : list of float
        Budgets of the forecast (FLOPs).
    target : float or None
        Target loss of the "compute for target" answer.
    gate : dict
        ``ok``, ``message``, ``failed`` and a ``checks`` table of the diagnostics gate.
    headline : dict of str -> DataFrame
        ``forecast`` (loss at each budget), ``allocation`` (compute-optimal N and D) and
        ``target`` (compute for the target at 50% and 90%), formatted for reading.
    tables : dict of str -> DataFrame
        ``parameters``, ``fit_quality``, ``priors``, ``data``.
    figures : dict of str -> Figure
        Titled figures in display order.
    notes : dict of str -> str
        Why a headline answer or figure is missing (e.g. the law has no N and D).
    facts : dict
        Law formula, reference, runs, sampler settings, package versions, command line.
    draw_ahead : DrawAhead or None
        The figures' PNGs already being drawn on the second CPU (``build_report(draw_ahead=)``),
        used by the first :meth:`to_html` at that dpi for every figure not changed since.
    """

    title: str
    ci: float
    compute: list[float]
    target: float | None
    gate: dict[str, Any]
    headline: dict[str, pd.DataFrame]
    tables: dict[str, pd.DataFrame]
    figures: dict[str, Figure]
    notes: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    draw_ahead: DrawAhead | None = field(default=None, repr=False, compare=False)

    def to_html(self, *, dpi: int = HTML_DPI) -> str:
        """One self-contained HTML page (inline CSS, figures as base64 PNG)."""
        from bayes_scaling.presentation.report.render import render_html

        return render_html(self, dpi=dpi)

    def save(self, path, *, force: bool = False, dpi: int = HTML_DPI):
        """Write :meth:`to_html` to ``path`` atomically; refuses to overwrite unless ``force``."""
        from bayes_scaling.inference.storage import atomic_write, check_output

        path = check_output(path, force=force, example="report.html")
        html = self.to_html(dpi=dpi)
        return atomic_write(path, lambda tmp: tmp.write_text(html, encoding="utf-8"))


# ------------------------------------------------------------------------------------ defaults
def default_compute(fit: FitRecord) -> list[float]:
    """10x and 100x the largest observed budget."""
    from bayes_scaling.presentation.plots._common import observed_range

    try:
        top = observed_range(fit, "C")[1]
    except QuestionError:  # runs without compute (e.g. a law in N alone)
        return []
    return [10 * top, 100 * top]


def default_target(fit: FitRecord) -> float | None:
    """A target a quarter of the way from the smallest observed loss down to the median of E.

    Without an irreducible-loss parameter E: 5% below the smallest observed loss. None when
    higher is better.
    """
    if fit.law.direction != "lower":
        return None
    y = fit.runs.column("loss")
    l_min = float(y.min())
    if not fit.law.target.is_positive:  # a real target: 5% of its range below the best run
        return float(f"{l_min - 0.05 * float(np.ptp(y)):.3g}")
    if "E" in fit.posterior:
        e_med = float(np.median(fit.posterior["E"].values))
        if 0 < e_med < l_min:
            return float(f"{l_min - 0.25 * (l_min - e_med):.3g}")
    return float(f"{0.95 * l_min:.3g}")


# ------------------------------------------------------------------------------------ figures
def make_figures(
    fit: FitRecord,
    *,
    compute: list[float],
    target: float | None,
    ci: float,
    ahead: DrawAhead | None = None,
) -> tuple[dict[str, Figure], dict[str, str]]:
    """The report's figures (title -> Figure) and notes on the ones that do not apply; each
    figure goes to ``ahead`` as soon as it is built."""
    from bayes_scaling.presentation import plots

    try:
        c_max = max(100 * _observed_max_c(fit), 2 * max(compute, default=0.0))
    except QuestionError:
        c_max = None
    specs = [
        (
            "Loss vs compute",
            plots.plot_loss_vs_compute,
            {"compute": compute, "compute_max": c_max, "ci": ci},
        ),
        ("Loss vs model size (IsoFLOP profiles)", plots.plot_isoflop_profiles, {"ci": ci}),
        (
            "Iso-loss contours and the compute-optimal frontier",
            plots.plot_isoloss,
            {"compute_max": c_max, "ci": ci},
        ),
        (
            "Parameters vs published values" if fit.law.published else "Parameter posteriors",
            plots.plot_parameters,
            {"ci": ci},
        ),
        (
            "Chance of reaching the target",
            plots.plot_probability,
            {"target": target, "compute_max": c_max},
        ),
        (
            "Loss quantiles vs compute",
            plots.plot_loss_quantiles,
            {"target": target, "compute": compute, "compute_max": c_max},
        ),
        *(
            (f"{fit.law.target.name} vs {x}", plots.plot_response, {"x": x, "ci": ci})
            for x in fit.law.inputs
            if not fit.law.input_spec(x).is_canonical
        ),
        (
            "Which run next",
            plots.plot_design,
            {"compute": max(compute, default=c_max or 0.0), "ci": ci},
        ),
        ("Posterior predictive check of residuals", plots.plot_residuals, {"ci": ci}),
        ("Calibration on the fit's own held-out runs", _lfo_calibration, {}),
        ("Rank plots", plots.plot_rank, {}),
        ("Energy", plots.plot_energy, {}),
    ]
    figures, notes = {}, {}
    for title, func, kwargs in specs:
        if "target" in kwargs and kwargs["target"] is None and func is plots.plot_probability:
            notes[title] = "no target loss (the law's metric is higher-is-better)"
            continue
        try:
            figures[title] = _quiet(func, fit, **kwargs)
        except BayesScalingError as error:
            notes[title] = str(error)
            continue
        if ahead is not None:
            ahead.add(figures[title])
    return figures, notes


def _lfo_calibration(fit: FitRecord):
    """The calibration figure of the discrepancy's leave-future-out check, when the fit has one."""
    from bayes_scaling.presentation.plots import plot_calibration

    check = (fit.info.get("discrepancy") or {}).get("lfo_check")
    if not check or not check.get("pit"):
        raise QuestionError(
            "no leave-future-out check: the fit has no extrapolation discrepancy learned from its "
            "runs (discrepancy=None, or too few runs); run `bayes-scaling backtest` instead"
        )
    return plot_calibration(
        check,
        title="Largest 20% of the runs forecast from a fit to the rest (with the discrepancy; "
        "these runs also set its scale)",
    )


def _observed_max_c(fit: FitRecord) -> float:
    from bayes_scaling.presentation.plots._common import observed_range

    return observed_range(fit, "C")[1]


# ------------------------------------------------------------------------------------ builder
def build_report(
    fit: FitRecord,
    *,
    compute: Any = None,
    target_loss: float | None = None,
    ci: float = CI,
    title: str | None = None,
    command: str | None = None,
    source: str | None = None,
    draw_ahead: int | None = None,
) -> Report:
    """Ask the fit every question the report shows and collect tables and figures.

    Parameters
    ----------
    fit : FitRecord
    compute : float or sequence, optional
        Forecast budgets in FLOPs (default: 10x and 100x the largest observed budget).
    target_loss : float, optional
        Target of "compute for target" (default: :func:`default_target`).
    ci : float
        Interval probability used throughout.
    title : str, optional
    command : str, optional
        The command line that produced the report (shown for reproducibility).
    source : str, optional
        Where the fit came from (e.g. its file name).
    draw_ahead : int, optional
        Start drawing the figures as PNGs at this dpi on the second CPU while the rest is built
        (:class:`~bayes_scaling.presentation.report.ahead.DrawAhead`), for a report rendered
        right away (the CLI). Figures changed before rendering are drawn again.

    Returns
    -------
    Report

    Examples
    --------
    >>> report = build_report(fit, compute=[1e23, 1e24])  # doctest: +SKIP
    >>> report.save("report.html")  # doctest: +SKIP
    """
    from bayes_scaling.presentation.plots._common import budgets

    ci = check_ci(ci)
    compute = budgets(compute) or default_compute(fit)
    target = float(target_loss) if target_loss is not None else default_target(fit)
    positive = fit.law.target.is_positive
    if target is not None and not (math.isfinite(target) and (target > 0 or not positive)):
        rule = "a finite loss > 0" if positive else f"a finite {fit.law.target.name}"
        raise QuestionError(f"--target-loss must be {rule}, not {target_loss!r}")
    # PSIS-LOO (mostly importing arviz-stats) runs beside the rest where a child can be forked
    loo_child = forked.start(lambda: json.dumps(loo_rows(fit)).encode())
    ahead = None
    if draw_ahead is not None:
        from bayes_scaling.presentation.report.ahead import DrawAhead

        ahead = DrawAhead(dpi=draw_ahead, after=loo_child)
    try:
        return _build(
            fit,
            compute=compute,
            target=target,
            ci=ci,
            title=title,
            about={"command": command or "", "source": source or ""},
            loo_child=loo_child,
            ahead=ahead,
        )
    except BaseException:
        if ahead is not None:
            ahead.cancel()
        raise
    finally:
        loo_child.cancel()  # a no-op once its result was read


def _json_rows(result: bytes | None) -> list | None:
    return None if result is None else json.loads(result)


def _build(
    fit: FitRecord,
    *,
    compute: list[float],
    target: float | None,
    ci: float,
    title: str | None,
    about: dict[str, str],
    loo_child: forked.Forked,
    ahead: DrawAhead | None,
) -> Report:
    notes: dict[str, str] = {}
    headline: dict[str, pd.DataFrame] = {}
    for key, make in (
        ("forecast", lambda: forecast_table(fit, compute, ci=ci)),
        ("allocation", lambda: allocation_table(fit, compute, ci=ci)),
        ("target", lambda: target_table(fit, target, ci=ci) if target is not None else None),
    ):
        try:
            frame = make()
        except BayesScalingError as error:
            notes[key] = str(error)
            continue
        if frame is None:
            notes[key] = "no target loss: the law's metric is higher-is-better"
        else:
            headline[key] = frame
    figures, figure_notes = make_figures(fit, compute=compute, target=target, ci=ci, ahead=ahead)
    notes.update(figure_notes)
    tables = {
        "parameters": parameter_table(fit, ci=ci),
        "fit_quality": fit_quality(fit, loo=_json_rows(loo_child.result())),
        "priors": prior_table(fit),
        "data": data_table(fit),
    }
    settings = fit.settings
    facts = {
        "law": fit.law.name,
        "law_title": fit.law.title,
        "formula": fit.law.program.result.text if hasattr(fit.law, "program") else "",
        "reference": fit.law.reference,
        "likelihood": fit.likelihood,
        "n_runs": fit.runs.n_runs,
        "runs_source": fit.runs.source,
        "flops_per_token": fit.runs.flops_per_token,
        "seed": settings.seed,
        "sampler": {
            "sampler": fit.info.get("sampler", "nutpie"),
            "chains": settings.chains,
            "draws": int(fit.posterior.sizes["draw"]),  # after any longer run
            "tune": settings.tune,
            "target_accept": settings.target_accept,
            "adaptation": fit.info.get("adaptation", settings.adaptation),
            **({"longer_run": fit.info["draws_reason"]} if "draws_reason" in fit.info else {}),
        },
        "settings": settings.to_dict(),
        "versions": versions(),
        **about,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "fit_version": fit.info.get("bayes_scaling_version", ""),
    }
    return Report(
        title=title or f"Scaling-law forecast: {fit.law.title}",
        ci=ci,
        compute=compute,
        target=target,
        gate=gate_info(fit),
        headline=headline,
        tables=tables,
        figures=figures,
        notes=notes,
        facts=facts,
        draw_ahead=ahead,
    )
