"""The saved model: a directory that loads without executing anything from it.

Layout::

    MODEL/
      metadata.json        schema, target, threshold, preset, metrics, data sha256, versions, seed, ...
      history.json         per-epoch training history (networks)
      preprocessor.skops   fitted scikit-learn preprocessing (skops, allow-listed types only)
      estimator/           the model itself in its own safe format (.keras files, LightGBM text, JSON)

It is written to a temporary sibling directory and renamed into place, so a crash
leaves either the previous model or none, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from uptake.errors import UptakeInputError

METADATA = "metadata.json"
HISTORY = "history.json"
PREPROCESSOR = "preprocessor.skops"
ESTIMATOR = "estimator"
FORMAT = "uptake-model/1"

#: model type -> loader(directory) -> estimator with predict_proba. Model families
#: register themselves here (see ``uptake.models``) so one artifact format serves all.
LOADERS: dict[str, Callable[[Path], Any]] = {}


def register_loader(model_type: str, loader: Callable[[Path], Any]) -> None:
    LOADERS[model_type] = loader


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON next to its destination, then rename: readers never see half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, default=_json_default, allow_nan=True)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def check_model_out(out: Path) -> None:
    """Refuse to replace a directory that is not an uptake model (checked before training, too)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UptakeInputError(f"file '{out}': exists and is not a directory; refusing to overwrite it")
    if out.exists() and not (out / METADATA).exists() and any(out.iterdir()):
        raise UptakeInputError(f"file '{out}': exists and is not an uptake model; refusing to overwrite it")


def replace_dir(tmp: Path, dest: Path) -> None:
    """Swap a finished directory into place; an existing one is moved aside first, then removed.

    Directories cannot be renamed over each other, so the old one goes to a sibling
    temporary name: at every moment ``dest`` is either the old or the new directory.
    """
    if dest.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old", dir=dest.parent))
        os.replace(dest, old / "previous")
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, dest)


def save_model_dir(
    out: Path,
    metadata: dict[str, Any],
    history: Any,
    write_parts: Callable[[Path], None],
) -> Path:
    """Build the whole model in a temporary directory beside ``out``, then swap it in.

    ``write_parts(tmpdir)`` writes the preprocessor and estimator files.
    """
    out = Path(out)
    check_model_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        write_parts(tmp)
        write_json_atomic(tmp / HISTORY, history)
        write_json_atomic(tmp / METADATA, {"format": FORMAT, **metadata})
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def read_metadata(path: Path) -> dict[str, Any]:
    """Read and check ``metadata.json``; anything else is 'not an uptake model'."""
    path = Path(path)
    meta_path = path / METADATA
    if not path.is_dir() or not meta_path.is_file():
        raise UptakeInputError(f"file '{path}': not an uptake model directory (no {METADATA})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UptakeInputError(f"file '{meta_path}': unreadable model metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UptakeInputError(f"file '{meta_path}': not an uptake model (format {meta.get('format')!r})")
    return meta


def load_estimator(path: Path, model_type: str) -> Any:
    import uptake.models.registry  # noqa: F401 - registers the model families

    loader = LOADERS.get(model_type)
    if loader is None:
        raise UptakeInputError(f"file '{path}': unknown model type {model_type!r}")
    try:
        return loader(Path(path) / ESTIMATOR)
    except UptakeInputError:
        raise
    except Exception as exc:  # a model directory is user input: damaged or unsafe files are refused
        # Keras' safe mode raises ValueError for a Lambda layer or any other code in the file.
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UptakeInputError(f"file '{Path(path) / ESTIMATOR}': refused to load the model ({first})") from None
