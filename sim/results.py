"""Write results with their provenance: tables, plots and ``metadata.json`` under ``results/<experiment>/``.

Every file is written atomically (a temporary file in the same folder, then a rename), so an interrupted run never
leaves a half-written table. The metadata carries the spec, the model hash, the package versions, the seed and the
time.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import tempfile
from importlib import metadata as _md
from pathlib import Path

PACKAGES = ("cafev", "numpy", "scipy", "pandas", "matplotlib", "tellurium", "libroadrunner", "antimony",
            "python-libsbml", "pydantic")
RESULTS_DIR = Path(os.environ.get("CAFEV_RESULTS", "results"))


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:
            out[name] = "not installed"
    return out


def atomic_write(path: Path, write) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_table(df, path: Path) -> Path:
    """Write a DataFrame as CSV atomically."""
    return atomic_write(path, lambda p: df.to_csv(p, index=False))


def write_figure(fig, path: Path, dpi: int = 130) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    out = atomic_write(path, lambda p: fig.savefig(p, dpi=dpi, format="png", bbox_inches="tight"))
    plt.close(fig)
    return out


def _finite(value):
    """NaN and inf as null, so that metadata.json is strict JSON that any reader accepts."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_metadata(folder: Path, spec: dict, model, seed: int, extra: dict | None = None) -> Path:
    """Write ``metadata.json``: spec, model name and hash, parameter defaults, versions, seed, time."""
    meta = {
        "spec": spec,
        "model": {"name": model.name, "sha256": model.model_hash,
                  "interactions": [it.key for it in model.interactions]},
        "versions": package_versions(),
        "seed": seed,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **(extra or {}),
    }
    text = json.dumps(_finite(meta), indent=2, default=str, allow_nan=False)
    return atomic_write(Path(folder) / "metadata.json", lambda p: p.write_text(text, encoding="utf-8"))
