"""Averages and the markdown table of ``calibration.py``'s results: each data set's row is the
mean over its members, then two averages (over data sets, over held-out runs). Kept apart so
the benchmark itself stays readable.

:func:`sampling_noise` says how far an average coverage could stray from nominal by chance.
Held-out runs of one member (one curve, one sweep) share the law's extrapolation error, so they
are far from independent. The reference is a method calibrated by construction with the same
dependence: each member's PIT values are rotated by one uniform shift (``(PIT + U) mod 1``,
Cranley-Patterson), which makes every PIT exactly uniform but keeps how the member's runs sit
relative to one another. The spread of its average coverage over many shifts is the noise a
perfectly calibrated method would show on these members under each weighting."""

from __future__ import annotations

import math

import numpy as np

SCALARS = ("width", "mare", "log_score", "crps")
LEVELED = ("coverage", "calibration", "interval_score")


def _avg(values, w):
    v = np.asarray([np.nan if x is None else x for x in values], dtype=float)
    ok = np.isfinite(v)
    return float(np.average(v[ok], weights=w[ok])) if ok.any() else math.inf


def _share(scores, level):
    """Weight share of infinite intervals at ``level``: 1 or 0 for a member, kept for a family."""
    score = scores["interval_score"][level]
    if score is None or not math.isfinite(score):
        return 1.0
    return scores.get("infinite", {}).get(level, 0.0)


def _mean(rows, weights):
    """Weighted mean of score dicts (scalars and per-level dicts)."""
    w = np.asarray(weights, dtype=float)
    out = {}
    for key in LEVELED:
        if all(key in r for r in rows):
            out[key] = {k: _avg([r[key][k] for r in rows], w) for k in rows[0][key]}
    for key in SCALARS:
        out[key] = _avg([r[key] for r in rows], w)
    inf = {
        k: float(np.average([_share(r, k) for r in rows], weights=w))
        for k in rows[0]["interval_score"]
    }
    if any(inf.values()):
        out["infinite"] = inf
    return out


def methods_of(rows):
    """The methods scored in any of ``rows`` (members or families), in first-seen order."""
    return list(dict.fromkeys(m for r in rows for m in r["scores"]))


def aggregate(members, *, by: str = "member"):
    """Mean of each score over members: each member weighs the same (``by="member"``) or as
    many held-out runs as it has (``by="run"``)."""
    out = {}
    for method in methods_of(members):
        rows = [m for m in members if method in m["scores"]]
        weights = [m["n_test"] if by == "run" else 1.0 for m in rows]
        out[method] = _mean([m["scores"][method] for m in rows], weights)
    return out


def overall_scores(families, members):
    """The average over data sets (each data set weighs the same) and over held-out runs."""
    by_set = {}
    for method in methods_of(families.values()):
        fams = [f["scores"][method] for f in families.values() if method in f["scores"]]
        by_set[method] = _mean(fams, [1.0] * len(fams))
    pooled = [m for rows in members.values() for m in rows]
    return by_set, aggregate(pooled, by="run")


def _weights(members_by_set, by: str) -> tuple[list[dict], np.ndarray]:
    """Pooled members and their weights in an average over data sets or over held-out runs."""
    pooled, weights = [], []
    for rows in members_by_set.values():
        for m in rows:
            pooled.append(m)
            weights.append(m["n_test"] if by == "run" else 1.0 / len(rows))
    w = np.asarray(weights, dtype=float)
    return pooled, w / w.sum()


def sampling_noise(members_by_set, method: str, levels, *, n_shifts: int = 4000, seed: int = 0):
    """Per weighting: Kish's effective number of members, the observed coverage (from the PIT
    values), and the 5-95% range of a calibrated method's coverage at each level, with the
    chance it lands within +-0.05 of nominal (see the module docstring)."""
    rng = np.random.default_rng(seed)
    level = np.asarray([float(c) for c in levels])
    out = {}
    for by in ("set", "run"):
        pooled, w = _weights(members_by_set, by)
        pits = [np.asarray(m["scores"][method]["pit"], dtype=float) for m in pooled]

        def coverage(shifts, pits=pits, w=w):
            per = np.empty((shifts.shape[0], len(pits), level.size))
            for j, p in enumerate(pits):
                rotated = (p[None, :] + shifts[:, j, None]) % 1.0
                inside = np.abs(rotated[:, :, None] - 0.5) <= level / 2
                per[:, j] = inside.mean(axis=1)
            return np.einsum("smk,m->sk", per, w)

        observed = coverage(np.zeros((1, len(pits))))[0]
        calibrated = coverage(rng.uniform(size=(n_shifts, len(pits))))
        lo, hi = np.quantile(calibrated, [0.05, 0.95], axis=0)
        within = np.mean(np.abs(calibrated - level) <= 0.05, axis=0)
        out[by] = {
            "effective_members": float(1.0 / np.sum(w**2)),
            "observed": dict(zip(levels, observed.tolist(), strict=True)),
            "calibrated_5": dict(zip(levels, lo.tolist(), strict=True)),
            "calibrated_95": dict(zip(levels, hi.tolist(), strict=True)),
            "calibrated_within_005": dict(zip(levels, within.tolist(), strict=True)),
        }
    return out


def _noise_table(noise, method: str, levels) -> list[str]:
    names = {"set": "over data sets", "run": "over held-out runs"}
    lines = [
        "| average | effective members | "
        + " | ".join(f"cov {float(c):.0%}" for c in levels)
        + " |",
        "|---|---|" + "---|" * len(levels),
    ]
    for by, info in noise.items():
        cells = [
            f"{info['observed'][c]:.2f} ({info['calibrated_5'][c]:.2f}-"
            f"{info['calibrated_95'][c]:.2f}; {info['calibrated_within_005'][c]:.0%})"
            for c in levels
        ]
        lines.append(
            f"| {names[by]} ({method}) | {info['effective_members']:.1f} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def _table(rows, levels):
    lines = [
        "| data set | members | method | "
        + " | ".join(f"cov {float(c):.0%}" for c in levels)
        + " | width 90% | log score | CRPS | IS 90% |",
        "|---|---|---|" + "---|" * (len(levels) + 4),
    ]
    for fam, info in rows:
        for method, s in info["scores"].items():
            cal, mark = s.get("calibration", {}), ""
            if s.get("infinite", {}).get("0.9"):
                mark = f" ({100 * s['infinite']['0.9']:.2g}% inf)"
            lines.append(
                f"| {fam} | {info['members']} | {method} | "
                + " | ".join(f"{cal[c]:.2f}" if c in cal else "" for c in levels)
                + f" | {s['width']:.4f}{mark} | {s['log_score']:.2f} | {s['crps']:.4f} | "
                + f"{s.get('interval_score', {}).get('0.9', float('nan')):.3f}{mark} |"
            )
    return lines


def markdown(families, overall, meta, members=None, *, method: str = "bayes+lfo"):
    levels = list(next(iter(overall["scores"].values()))["calibration"])
    noise = []
    if members:
        noise = [
            "## How far coverage strays by chance",
            "",
            "Each cell: the default fit's coverage computed from its PIT values, then in "
            "brackets the 5-95% range of the same average for a method calibrated by "
            "construction with the same dependence between the runs of a member (each member's "
            "PIT values rotated by one uniform shift, 4000 shifts), and how often that "
            "calibrated method lands within +-0.05 of nominal. Effective members: Kish's "
            "(sum w)^2 / sum w^2 of the weights. An observed coverage outside the range is "
            "miscalibration, not chance; a low share means a +-0.05 target cannot be told "
            "from chance under that weighting. The rotation keeps the clustering of the "
            "observed PIT values, so where the fit is miscalibrated the range may be somewhat "
            "wide.",
            "",
            *_noise_table(sampling_noise(members, method, levels), method, levels),
            "",
        ]
    averages = [
        ("**average over data sets**", overall),
        ("**average over held-out runs**", {**overall, "scores": overall["by_run"]}),
    ]
    lines = [
        "# Extrapolation calibration on the shipped public data sets",
        "",
        f"Held-out larger runs scored at every level: coverage of the central predictive interval "
        f"of y at nominal {', '.join(f'{float(c):.0%}' for c in levels)} (the calibration "
        f"curve), mean relative 90% width (the sharpness), log score (log(loss), nats, higher is "
        f"better), CRPS and the 90% interval score (both on log(loss), lower is better). Draws: "
        f"{meta['draws']} x 2 chains; baseline bootstrap {meta['n_boot']} refits; seed "
        f"{meta['seed']}. Runtime {meta['seconds']:.0f} s.",
        "",
        "Members: Epoch AI's 240 Chinchilla points; each of Porian et al.'s 15 configurations "
        "(chinchilla law on N, D; the largest-compute 20% held out); datablations' single-epoch "
        "runs (chinchilla law); 32 revisiting-scaling-laws curves with the benchmark's own "
        "Training=1/0 split (all 5 LM, 5 NMT and 10 BIG-bench curves, and one architecture per "
        "image-classification task, cycling through all six). A data set's row is the mean over "
        "its members. Two averages: over data sets (each data set weighs the same) and over "
        "held-out runs (each run weighs the same: 7 image-classification curves hold 2,900 of "
        "the 4,500 held-out runs).",
        "",
        "Methods (`benchmarks/calibration.py` describes each): `bayes` (no discrepancy), "
        "`bayes+lfo` (the default fit), variants `lfo<cuts>[+noise][+rms][+med]` of how tau is "
        "learned and how a new run's noise is drawn, `conformal` (split-conformal from the "
        "leave-future-out residuals; log score and CRPS of the empirical residual distribution) "
        "and `baseline` (Huber + L-BFGS, bootstrap). `(x% inf)`: share of the weight whose "
        "conformal 90% interval is infinite (too few residuals); width and IS average the rest.",
        "",
        "## Averages",
        "",
        *_table(averages, levels),
        "",
        *noise,
        "## By data set",
        "",
        *_table(list(families.items()), levels),
    ]
    return "\n".join(lines) + "\n"
