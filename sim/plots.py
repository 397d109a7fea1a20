"""Dose-response and clonogenic figures: fitted curves, the IC50-shift and DMF bar charts, dose-reversal curves.

Every figure labels its axes with units and gives each condition the same colour in every panel and figure
(:func:`condition_colours`).
"""
from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd

from sim.fit import ll4
from sim.gr import gr_curve


def pyplot():
    """``matplotlib.pyplot``, with the non-interactive Agg backend chosen first (files, not windows) unless pyplot
    is already in use (a notebook keeps its own backend)."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plain_log_ticks(axis) -> None:
    """Label a log axis with plain numbers (0.5, 1, 2) instead of powers of ten."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def condition_colours(names) -> dict:
    """One fixed colour per condition, in order (tab10, then tab20 beyond ten conditions)."""
    plt = pyplot()
    names = list(dict.fromkeys(names))
    cmap = plt.cm.tab10 if len(names) <= 10 else plt.cm.tab20
    return {n: cmap(i % cmap.N) for i, n in enumerate(names)}


def plot_dose_response(table: pd.DataFrame, fits: pd.DataFrame, drug: str = "", title: str | None = None,
                       response: str = "viability", ylabel: str | None = None, reference: float | None = 0.5):
    """Relative viability and GR value against dose (log axis): points per dose, fitted 4PL/GR lines per condition.

    Parameters
    ----------
    table : DataFrame
        A dose-response table (:func:`sim.curves.run_dose_response` or measured data with
        ``condition``, ``dose_uM`` and ``response`` columns).
    fits : DataFrame
        :func:`sim.curves.fit_curves` of the table.
    ylabel : str, optional
        The response axis label (default: relative viability, fraction of the drug-free control); measured data
        in raw units say so.
    reference : float or None
        Response level drawn as a dotted line (0.5, the absolute IC50 of a fraction); None draws none.
    """
    plt = pyplot()
    has_gr = "gr" in table and "gr50" in fits
    fig, axes = plt.subplots(1, 2 if has_gr else 1, figsize=(11 if has_gr else 6, 4.6), squeeze=False)
    axes = axes[0]
    colours = condition_colours(fits["condition"])
    pos = table[table["dose_uM"] > 0]
    grid = np.logspace(math.log10(pos["dose_uM"].min()), math.log10(pos["dose_uM"].max()), 200)
    unit = f"{drug} dose (µM)" if drug else "dose (µM)"
    handles, labels = [], []
    for _, f in fits.iterrows():
        sub = pos[pos["condition"] == f["condition"]]
        col = colours[f["condition"]]
        axes[0].plot(sub["dose_uM"], sub[response], "o", color=col, ms=4, alpha=0.8)
        if math.isfinite(f["ic50"]):
            line, = axes[0].plot(grid, ll4(grid, f["hill"], f["bottom"], f["top"], f["ic50"]), "-", color=col,
                                 lw=1.6)
            label = f"{f['condition']}: IC50 {f['ic50_report']}"
        else:
            line, = axes[0].plot([], [], "o", color=col)
            label = f"{f['condition']}: not fitted ({f['status']})"
        if has_gr:
            if f.get("gr_status") == "control_not_growing":
                label += "; GR n/a (control not growing)"
            else:
                axes[1].plot(sub["dose_uM"], sub["gr"], "o", color=col, ms=4, alpha=0.8)
                axes[1].plot(grid, gr_curve(grid, f), "-", color=col, lw=1.6)
                label += f"; GR50 {_fmt(f['gr50'])}"
        handles.append(line)
        labels.append(label)
    if reference is not None:
        axes[0].axhline(reference, color="grey", lw=0.8, ls=":")
    axes[0].set_ylabel(ylabel or "relative viability (fraction of drug-free control)")
    if has_gr:
        axes[1].axhline(0.5, color="grey", lw=0.8, ls=":")
        axes[1].axhline(0.0, color="black", lw=0.8)
        axes[1].set_ylabel("GR value (Hafner 2016; dimensionless)")
        axes[1].set_ylim(-1.05, 1.1)
    for a in axes:
        a.set_xscale("log")
        a.set_xlabel(unit)
        a.grid(alpha=0.3, which="both")
    axes[0].set_ylim(bottom=min(0, axes[0].get_ylim()[0]))
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 0.93), fontsize=8, frameon=False,
               title=f"condition: IC50{' (µM)' if drug else ''}{'; GR50' if has_gr else ''}", title_fontsize=8)
    return fig


def _fmt(v) -> str:
    if isinstance(v, str):
        return v
    if v is None or not math.isfinite(v):
        return "> max" if v == math.inf else "< min" if v == -math.inf else "n/a"
    return f"{v:.3g}"


def plot_shift_bars(shifts: pd.DataFrame, control: str, title: str | None = None):
    """IC50 fold change vs the control per condition, with whiskers: the uncertainty band over the parameter
    ranges (``ic50_fold_low``/``ic50_fold_high``) when ``shifts`` has it, else the 4PL fit-SE interval
    (``ic50_fold_fit_se_low``/``_high``: a fit diagnostic on noise-free simulated points, not biological
    uncertainty), and the figure says which; unfitted bars are marked. An intervention's bar is
    annotated with the fraction of its reference's EV shift it reverses ('rev') and the EV-specific part ('spec',
    beyond its effect without EVs)."""
    plt = pyplot()
    colours = condition_colours(shifts["condition"])
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(shifts) + 2), 4.6))
    xs = np.arange(len(shifts))
    band = "ic50_fold_low" in shifts and np.isfinite(shifts["ic50_fold_low"].to_numpy(dtype=float)).any()
    low, high = ("ic50_fold_low", "ic50_fold_high") if band else ("ic50_fold_fit_se_low", "ic50_fold_fit_se_high")
    for x, (_, s) in zip(xs, shifts.iterrows()):
        col = colours[s["condition"]]
        if math.isfinite(s["ic50_fold"]):
            ax.bar(x, s["ic50_fold"], color=col, width=0.7, bottom=0)
            lo, hi = s[low], s[high]
            if math.isfinite(lo) and math.isfinite(hi):  # a band need not hold the point (a default at a range's end)
                ax.vlines(x, lo, hi, color="black", lw=1)
                ax.hlines([lo, hi], x - 0.08, x + 0.08, color="black", lw=1)
            label = f"{s['ic50_fold']:.2f}×"
            if math.isfinite(s.get("fraction_reversed", math.nan)):
                label += f"\nrev {s['fraction_reversed']:.2f}"
                if math.isfinite(s.get("fraction_reversed_specific", math.nan)):
                    label += f"\nspec {s['fraction_reversed_specific']:.2f}"
            ax.text(x, s["ic50_fold"] * 1.04, label, ha="center", va="bottom", fontsize=7)
        else:
            ax.text(x, 1.0, f"IC50\n{s['ic50_report']}", ha="center", va="bottom", fontsize=7, color=col)
    ax.axhline(1.0, color="black", lw=0.8)
    folds = shifts[high].where(np.isfinite(shifts[high]), shifts["ic50_fold"])
    if np.nanmax(folds.to_numpy(dtype=float), initial=1.0) > 20:  # log only when folds span decades
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
        scale = "log scale"
    else:
        ax.set_ylim(0, 1.2 * np.nanmax(folds.to_numpy(dtype=float), initial=1.0))
        scale = "1 = no shift"
    ax.set_xticks(xs, shifts["condition"], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel(f"IC50 fold change vs '{control}' ({scale})")
    ax.grid(alpha=0.3, axis="y", which="both")
    whiskers = (shifts.attrs.get("band_label", "uncertainty band over the parameter ranges") if band else
                "4PL fit SE (lack of fit of noise-free points, not uncertainty)")
    ax.text(0.01, 0.99, f"whiskers: {whiskers}", transform=ax.transAxes, ha="left", va="top", fontsize=7,
            color="dimgrey")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_reversal(curves: pd.DataFrame, title: str | None = None):
    """Fraction of the EV-induced IC50 shift reversed against intervention dose, one line per intervention: all of
    it (filled circles) and the EV-specific part (open squares, dashed: beyond what the intervention does without EVs).

    ``curves`` has columns intervention, unit, dose, fraction_reversed, fraction_reversed_specific, ic50_fold (from
    :func:`sim.analyses.dose_response.reversal_curves`); the zero dose is drawn at the left edge.
    """
    from matplotlib.ticker import NullFormatter

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    units = sorted(set(curves["unit"]))
    ticks: dict = {}
    for i, (name, sub) in enumerate(curves.groupby(["intervention", "reference"], sort=False)):
        name = f"{name[0]} on '{name[1]}'"
        sub = sub.sort_values("dose")
        positive = sub[sub["dose"] > 0]["dose"]
        x = sub["dose"].where(sub["dose"] > 0, positive.min() / 3 if len(positive) else 1.0)
        col = plt.cm.Dark2(i % 8)
        if sub["fraction_reversed"].notna().any():
            axes[0].plot(x, sub["fraction_reversed"], "o-", color=col, label=f"{name}: all")
        if "fraction_reversed_specific" in sub and sub["fraction_reversed_specific"].notna().any():
            axes[0].plot(x, sub["fraction_reversed_specific"], "s--", color=col, mfc="white",
                         label=f"{name}: EV-specific")
        axes[1].plot(x, sub["ic50_fold"], "o-", color=col, label=name if sub["fraction_reversed"].notna().any()
                     else f"{name} (EV shift too small to reverse)")
        ticks.update(zip(x, sub["dose"]))
    axes[0].axhline(0, color="black", lw=0.8)
    axes[0].axhline(1, color="grey", lw=0.8, ls="--")
    axes[0].set_ylabel("fraction of the CAF-EV IC50 shift reversed\n(all; EV-specific: beyond the effect without EVs)")
    axes[1].axhline(1, color="grey", lw=0.8, ls="--")
    axes[1].set_ylabel("IC50 fold change vs no-EV control")
    for a in axes:
        a.set_xscale("log")
        a.set_xticks(list(ticks), [f"{d:g}" for d in ticks.values()])
        a.xaxis.set_minor_formatter(NullFormatter())
        a.set_xlabel(f"intervention dose ({', '.join(units)}; 0 = the EV condition alone)")
        a.grid(alpha=0.3, which="both")
        a.legend(fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_clonogenic(table: pd.DataFrame, fits: pd.DataFrame, title: str | None = None):
    """Clonogenic surviving fraction (log axis) against total dose in Gy: simulated points and the fitted LQ curve
    of every condition, with alpha, beta and SF2 in the legend."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    colours = condition_colours(fits["condition"])
    top = float(table["total_dose_gy"].max())
    grid = np.linspace(0.0, top, 200)
    for _, f in fits.iterrows():
        sub = table[table["condition"] == f["condition"]]
        col = colours[f["condition"]]
        ax.plot(sub["total_dose_gy"], sub["surviving_fraction"], "o", color=col, ms=4, alpha=0.85)
        n = int(f["fractions"])
        if f["lq_status"] == "ok":
            d = grid / n
            ax.plot(grid, np.exp(-n * (f["alpha"] * d + f["beta"] * d ** 2)), "-", color=col, lw=1.5,
                    label=f"{f['condition']}: α {f['alpha']:.3g}/Gy, β {f['beta']:.3g}/Gy², SF2 {f['sf2']:.3f}")
        else:
            ax.plot([], [], "o", color=col, label=f"{f['condition']}: not fitted ({f['lq_status']})")
    ax.set_yscale("log")
    n = int(fits["fractions"].iloc[0]) if len(fits) else 1
    ax.set_xlabel("total dose (Gy)" + (f", {n} fractions" if n > 1 else ", single acute dose"))
    ax.set_ylabel("clonogenic surviving fraction (log scale)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="lower left")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_dmf_bars(shifts: pd.DataFrame, control: str, title: str | None = None):
    """Dose-modifying factor vs the control per condition at SF = 0.1 and SF = 0.5 (> 1 = radioresistance); an
    intervention's bar is annotated with the fraction of its reference's DMF it reverses."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.8 * len(shifts) + 2), 4.6))
    xs = np.arange(len(shifts))
    width = 0.38
    for k, (column, shade) in enumerate((("dmf_sf0.1", "tab:blue"), ("dmf_sf0.5", "tab:orange"))):
        values = shifts[column].to_numpy(dtype=float)
        ax.bar(xs + (k - 0.5) * width, np.nan_to_num(values, nan=0.0), width, color=shade,
               label=f"DMF at SF = {column.removeprefix('dmf_sf')}")
    for x, (_, s) in zip(xs, shifts.iterrows()):
        label = f"{s['dmf_sf0.1']:.3f}" if math.isfinite(s["dmf_sf0.1"]) else "n/a"
        if math.isfinite(s.get("fraction_reversed", math.nan)):
            label += f"\nrev {s['fraction_reversed']:.2f}"
        ax.text(x, np.nanmax([s["dmf_sf0.1"], s["dmf_sf0.5"], 1.0]) * 1.01, label, ha="center", va="bottom",
                fontsize=7)
    ax.axhline(1.0, color="black", lw=0.8)
    top = np.nanmax(shifts[["dmf_sf0.1", "dmf_sf0.5"]].to_numpy(dtype=float), initial=1.0)
    low = np.nanmin(shifts[["dmf_sf0.1", "dmf_sf0.5"]].to_numpy(dtype=float), initial=1.0)
    ax.set_ylim(max(0.0, low - 0.15 * (top - low + 0.05)), top + 0.25 * (top - low + 0.05))
    ax.set_xticks(xs, shifts["condition"], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel(f"DMF vs '{control}' (dose ratio; 1 = none)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig
