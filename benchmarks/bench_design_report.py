"""The verdict and the markdown of ``bench_design.py``'s replay results (kept apart so the
replay itself stays readable); ``python benchmarks/bench_design_report.py`` re-renders the
markdown from the saved JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).with_name("results")
POLICIES = ("ours", "ours_per_flop", "random", "cheapest", "largest", "d_optimal")
SHARES = (0.01, 0.02, 0.05, 0.1, 0.25, 0.5)


def verdict(result: dict) -> dict:
    """The issue's done-when bullets, measured."""
    reps = result["replays"]
    ours = [r["policies"]["ours"] for r in reps]
    reach = [o["share_within_10pct"] for o in ours]
    n_reach = sum(r is not None and r <= 0.25 for r in reach)
    stays = [o["share_within_10pct_stays"] for o in ours]
    n_stays = sum(r is not None and r <= 0.25 for r in stays)
    beats = [
        r["policies"]["ours"]["area"]
        < min(r["policies"]["random"]["area"], r["policies"]["cheapest"]["area"])
        for r in reps
    ]
    cover = {
        p: float(np.mean([c for r in reps for c in r["policies"][p]["coverage"]])) for p in POLICIES
    }
    n_cover = sum(len(r["policies"]["ours"]["coverage"]) * r["seeds"] for r in reps)
    out = {
        "reach_within_10pct_by_25pct": {
            "met": n_reach >= 3,
            "sweeps_met": n_reach,
            "sweeps": len(reps),
            "median_share_per_sweep": reach,
            "met_if_it_must_stay_within": n_stays >= 3,
            "sweeps_met_staying": n_stays,
            "median_share_staying_per_sweep": stays,
        },
        "area_beats_random_and_cheapest": {
            "met": all(beats),
            "sweeps_met": int(sum(beats)),
            "sweeps": len(reps),
        },
        "coverage_at_nominal_0.90": {
            "met": 0.8 <= cover["ours"] <= 0.97,
            "ours": cover["ours"],
            "per_policy": cover,
            "n_checkpoints": n_cover,
            "note": "one truth per sweep; checkpoints of one seed are strongly correlated",
        },
    }
    if "timing" in result:
        t = result["timing"]
        out["plan_200_under_5s"] = {
            "met": t["rank_seconds_median"] < 5.0,
            "rank_seconds_in_process": t["rank_seconds_median"],
            "plan_cli_seconds_end_to_end": t["plan_cli_seconds_median"],
        }
    return out


def markdown(result: dict) -> str:
    lines = ["# Run design benchmark (bench_design.py)", ""]
    if "timing" in result:
        t = result["timing"]
        lines += [
            f"Timing: rank_candidates over {t['candidates']} candidates, {t['draws']} draws, "
            f"{t['n_fantasies']} fantasies: median {t['rank_seconds_median']:.2f} s in process;"
            f" `plan --json` end to end (start-up, load, grid, rank): median "
            f"{t['plan_cli_seconds_median']:.2f} s.",
            "",
        ]
        v = result["validation"]
        lines += [
            f"Validation (check_design, {v['n_outcomes']} refits per candidate, "
            f"{v['draws']} draws per chain): Spearman {v['spearman']:.2f}, median ratio "
            f"predicted/refit width {v['median_ratio']:.3f}, width now {v['width_now']:.4f}.",
            "",
            "| N | C | expected width after | refit width after | ratio | ESS |",
            "|---|---|---|---|---|---|",
        ]
        for r in v["table"]:
            lines.append(
                f"| {r['N']:.3g} | {r['C']:.3g} | {r['expected_width_after']:.4f} | "
                f"{r['refit_width_after']:.4f} | {r['ratio']:.3f} | {r['ess']:.0f} |"
            )
        lines.append("")
    lines += [
        "## Budget-matched replays",
        "",
        "Each policy starts from the cheapest 8 runs of the sweep (seed 0; other seeds: 8 of "
        "the cheapest 16) and picks runs until its cumulative compute reaches each checkpoint "
        "share of the pool's total compute (the last pick may overshoot, recorded at its actual "
        "share; `ours` keeps its batches within the checkpoint). Refit (2 chains, no "
        "discrepancy) after each checkpoint's picks. Target: expected loss at the lowest-loss "
        "run of the largest budget (held out of the pool), truth = its observed loss; error = "
        "|predictive median - truth|, width and coverage of the 90% predictive interval. "
        "Values at a checkpoint s are those of the last state with actual share <= s (step "
        "function), medians over seeds (coverage: mean). Area = mean error over "
        "log10(share) on [1%, 50%]. 'Reach' = smallest actual share with error <= 1.1 x the "
        "full-sweep error (median over seeds; 'no' = not reached in most seeds); 'reach, stays' = "
        "smallest share from which the error stays within at every later checkpoint.",
        "",
        "Policies: `ours` = `budget_batch` (greedy fantasy batches within the checkpoint's "
        "budget for cost powers 0, 0.5, 1, cut where ESS < 50, the smallest expected width "
        "wins; up to 3 batch+refit rounds per checkpoint); `ours_per_flop` = the same with "
        "cost power 1 only (the old per-FLOP score); `random`, `cheapest` (first), `largest` "
        "(first), `d_optimal` (greedy det of the law's Jacobian information at the median, no "
        "cost).",
    ]
    for rep in result["replays"]:
        grid = rep["grid"]
        heads = " | ".join(f"{g:.0%}" for g in grid)
        lines += [
            "",
            f"### {rep['dataset']} ({rep['pool']} pool runs, {rep['seeds']} seed(s); "
            f"start share {rep['start_share_seed0']:.4f}; truth {rep['truth']:.4f}; "
            f"full-sweep error {rep['full_sweep']['error']:.4f}, width "
            f"{rep['full_sweep']['width']:.4f})",
            "",
            f"| policy | error at {heads} | width at 25% | coverage | area | reach | "
            "reach, stays |",
            "|---|" + "---|" * (len(grid) + 5),
        ]
        i25 = grid.index(0.25) if 0.25 in grid else -1
        for p, s in rep["policies"].items():
            errs = " | ".join(f"{e:.4f}" for e in s["error"])
            w, z = s["share_within_10pct"], s["share_within_10pct_stays"]
            lines.append(
                f"| {p} | {errs} | {s['width'][i25]:.4f} | {np.mean(s['coverage']):.2f} | "
                f"{s['area']:.4f} | {'no' if w is None else f'{w:.3f}'} | "
                f"{'no' if z is None else f'{z:.3f}'} |"
            )
        lines += [
            "",
            f"| policy | width at {heads} | actual share after each step |",
            "|---|" + "---|" * (len(grid) + 1),
        ]
        for p, s in rep["policies"].items():
            widths = " | ".join(f"{e:.4f}" for e in s["width"])
            shares = ", ".join(f"{e:.3f}" for e in s["actual_share_after_step"])
            lines.append(f"| {p} | {widths} | {shares} |")
    if "verdict" in result:
        v = result["verdict"]
        lines += ["", "## Verdict against the done-when", ""]
        r = v["reach_within_10pct_by_25pct"]
        med = ", ".join("no" if x is None else f"{x:.3f}" for x in r["median_share_per_sweep"])
        stay = ", ".join(
            "no" if x is None else f"{x:.3f}" for x in r["median_share_staying_per_sweep"]
        )
        lines.append(
            f"- Reach the full-sweep error (within 10%) with <= 25% of compute on >= 3 sweeps: "
            f"{'MET' if r['met'] else 'NOT MET'} ({r['sweeps_met']} of {r['sweeps']} sweeps; "
            f"median shares {med}). If it must stay within from then on: "
            f"{'MET' if r['met_if_it_must_stay_within'] else 'NOT MET'} "
            f"({r['sweeps_met_staying']} sweeps; {stay})."
        )
        a = v["area_beats_random_and_cheapest"]
        lines.append(
            f"- Area under error vs log-compute below random and cheapest-first: "
            f"{'MET' if a['met'] else 'NOT MET'} ({a['sweeps_met']} of {a['sweeps']} sweeps)."
        )
        c = v["coverage_at_nominal_0.90"]
        per = ", ".join(f"{k} {x:.2f}" for k, x in c["per_policy"].items())
        lines.append(
            f"- Coverage of the 90% intervals along the way: "
            f"{'MET' if c['met'] else 'NOT MET'} (ours {c['ours']:.2f} over "
            f"{c['n_checkpoints']} checkpoint x seed values; {per}; {c['note']})."
        )
        if "plan_200_under_5s" in v:
            t = v["plan_200_under_5s"]
            lines.append(
                f"- plan over 200 candidates under 5 s after the fit: "
                f"{'MET' if t['met'] else 'NOT MET'} (rank {t['rank_seconds_in_process']:.2f} s "
                f"in process; CLI end to end {t['plan_cli_seconds_end_to_end']:.2f} s)."
            )
    lines.append("")
    if result.get("note"):
        lines += [f"Note: {result['note']}", ""]
    lines.append(f"Total benchmark time: {result.get('seconds', float('nan')):.0f} s.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    saved = json.loads((RESULTS / "bench_design.json").read_text())
    (RESULTS / "bench_design.md").write_text(markdown(saved))
