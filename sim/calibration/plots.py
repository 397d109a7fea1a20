"""Calibration figures: multi-start waterfall, profile likelihoods, data against the fit with its band and
residuals, and the IC50 fold with its band.

Axes carry units; conditions keep the colours of the dose-response figures (:func:`sim.plots.condition_colours`).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.plots import condition_colours, plain_log_ticks, pyplot


def plot_waterfall(starts: pd.DataFrame, title: str):
    """Final NLL of each start, sorted (pyPESTO's waterfall): a plateau of starts at the best value says the
    optimum was found more than once."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    nll = np.sort(starts["nll"].to_numpy(dtype=float))
    ok = np.isfinite(nll)
    best = nll[ok].min() if ok.any() else 0.0
    rank = np.arange(1, len(nll) + 1)
    ax.plot(rank[ok], nll[ok] - best + 1e-3, "o-", color="tab:blue")
    ax.set_yscale("log")
    ax.set_xlabel("start (sorted by final NLL)")
    ax.set_ylabel("NLL - best NLL + 0.001 (dimensionless)")
    ax.axhline(1e-3 + 0.1, color="grey", lw=0.8, ls=":")
    ax.text(rank[-1], 1e-3 + 0.1, " within 0.1 of best", va="bottom", ha="right", fontsize=8, color="grey")
    ax.set_title(f"{title}\n{int((nll[ok] - best < 0.1).sum())} of {len(nll)} starts reach the best fit",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_profiles(paths: pd.DataFrame, table: pd.DataFrame, level: float, title: str):
    """-2 log likelihood ratio along each parameter's profile, with the ``level`` threshold and the interval."""
    from scipy.stats import chi2  # deferred: `import sim.cli` does not load SciPy

    plt = pyplot()
    names = list(table["parameter"])
    fig, axes = plt.subplots(1, len(names), figsize=(4.6 * len(names), 4), squeeze=False)
    q = chi2.ppf(level, 1)
    for ax, row in zip(axes[0], table.itertuples()):
        sub = paths[paths["profiled"] == row.parameter].sort_values("value")
        y = -2 * np.log(np.clip(sub["ratio"].to_numpy(dtype=float), 1e-300, None))
        scaled = np.log10 if row.scale == "log" else (lambda v: v)  # log parameters on a log10 axis, as profiled
        ax.plot(scaled(sub["value"].to_numpy(dtype=float)), y, "-", color="tab:blue", marker=".", ms=3)
        ax.axhline(q, color="tab:red", lw=0.9, ls="--", label=f"{level:.0%} threshold ({q:.2f})")
        ax.axvspan(scaled(row.lower), scaled(row.upper), color="tab:blue", alpha=0.08,
                   label=f"interval {row.lower:.3g}-{row.upper:.3g}")
        ax.axvline(scaled(row.estimate), color="k", lw=0.8)
        ax.set_ylim(-0.2, max(2 * q, float(np.nanmax(y[np.isfinite(y)])) if np.isfinite(y).any() else 2 * q))
        name = f"{row.parameter} ({row.unit})" if row.unit else row.parameter
        ax.set_xlabel(f"log10 {name}" if row.scale == "log" else name)
        ax.set_ylabel("-2 log likelihood ratio (dimensionless)")
        ax.set_title(f"{row.identifiability}; estimate {row.estimate:.3g}", fontsize=10)
        ax.legend(fontsize=7, loc="upper center")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_fit(data: pd.DataFrame, predicted: np.ndarray, band: pd.DataFrame, drug: str, title: str):
    """Data points and the best-fit curve with its prediction band per condition (top); residuals (bottom)."""
    plt = pyplot()
    colours = condition_colours(data["condition"])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6.4), sharex=True, height_ratios=[3, 1.2])
    positive = data["dose_uM"] > 0
    floor = data.loc[positive, "dose_uM"].min() / 3  # dose 0 drawn at the left edge
    shown = data["dose_uM"].where(positive, floor)
    for name, sub in band.groupby("condition", sort=False):
        c = colours.get(name, "k")
        top.fill_between(sub["dose_uM"], sub["viability_low"], sub["viability_high"], color=c, alpha=0.18, lw=0)
        top.plot(sub["dose_uM"], sub["viability"], "-", color=c, label=f"{name} (fit)")
    for name, sub in data.groupby("condition", sort=False):
        top.plot(shown[sub.index], sub["response"], "o", color=colours[name], ms=4, mfc="none")
    residual = data["response"].to_numpy() - predicted
    for name, sub in data.groupby("condition", sort=False):
        bottom.plot(shown[sub.index], residual[sub.index], "o", color=colours[name], ms=4)
    bottom.axhline(0, color="k", lw=0.8)
    for ax in (top, bottom):
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis)
    top.set_ylabel("relative viability (fraction of drug-free)")
    bottom.set_ylabel("residual (data - fit)")
    bottom.set_xlabel(f"{drug} dose (uM; dose 0 drawn at the left edge)")
    top.legend(fontsize=8)
    top.set_title(f"{title}\npoints: data; lines: best fit; shading: confidence band of the curve (profiles)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_folds(folds: pd.DataFrame, reference: str, level: float, title: str):
    """IC50 fold over ``reference`` per condition: the best fit with its band."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(4.5, 1.3 * len(folds) + 2), 4))
    colours = condition_colours(folds["condition"])
    x = np.arange(len(folds))
    y = folds["ic50_fold"].to_numpy(dtype=float)
    low = np.nan_to_num(y - folds["ic50_fold_low"].to_numpy(dtype=float))
    high = np.nan_to_num(folds["ic50_fold_high"].to_numpy(dtype=float) - y)
    ax.bar(x, y, color=[colours[c] for c in folds["condition"]], alpha=0.8)
    ax.errorbar(x, y, yerr=[low, high], fmt="none", ecolor="k", capsize=4)
    ax.axhline(1, color="grey", lw=0.8)
    ax.set_xticks(x, folds["condition"], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(f"IC50 fold over '{reference}' (dimensionless)")
    ax.set_title(f"{title}\nbars: best fit; whiskers: confidence band (profiles, {level:.0%})", fontsize=10)
    if math.isfinite(np.nanmax(y)):
        ax.set_ylim(0, max(1.2, float(np.nanmax(folds["ic50_fold_high"])) * 1.15))
    fig.tight_layout()
    return fig
