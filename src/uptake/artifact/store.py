"""Where a model lives on disk, written so that a reader always sees one whole model.

A model directory the user names (``--out models/loan``) is a symbolic link to one
immutable version directory in a hidden store beside it::

    models/loan -> .loan.versions/20261201-120000-1a2b3c4d/
    models/.loan.versions/20261201-120000-1a2b3c4d/
        metadata.json        the model card: schema, threshold and rule, metrics, versions,
                             and the SHA-256 of every other file ("parts")
        history.json         per-epoch training history (networks)
        preprocessor.skops   fitted preprocessing (skops, allow-listed types only)
        estimator/           the model in its family's own safe format
        calibration.json     when trained with --calibrate

A version is built under a temporary name and renamed into the store when complete;
publishing it is one atomic ``rename`` of a new link over the old one, under a lock
file so that concurrent writers to one ``--out`` take turns and the clean-up of old
versions never removes one a writer has just published. Loading resolves the link
once and reads everything from that version under a shared lock on the version
directory, checking each part against the card, so a loader never mixes two models.
The clean-up keeps the newest two versions and skips any version a reader holds, so a
reader that resolved the link just before many swaps still finishes. Directories written by
release 0.1.0 (plain directories with ``metadata.json`` inside) load as they are and
are moved into the store the first time a new version replaces them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from uptake.artifact.card import FORMAT, ModelCard
from uptake.errors import UptakeInputError
from uptake.io.atomic import current_umask, new_temp_dir, temporary
from uptake.io.jsonable import read_json, write_json

METADATA = "metadata.json"
HISTORY = "history.json"
PREPROCESSOR = "preprocessor.skops"
ESTIMATOR = "estimator"
#: Complete versions kept in a store (the current one and the one before it).
KEEP_VERSIONS = 2


def store_of(out: Path) -> Path:
    return out.parent / f".{out.name}.versions"


def check_model_out(out: str | os.PathLike[str]) -> Path:
    """Refuse to replace anything that is not an uptake model (checked before training, too)."""
    out = Path(out)
    if out.is_symlink():
        if Path(os.path.realpath(out)).parent != store_of(out).resolve():
            raise UptakeInputError(f"file '{out}': is a link that uptake did not make; refusing to replace it")
        return out
    if out.exists() and not out.is_dir():
        raise UptakeInputError(f"file '{out}': exists and is not a directory; refusing to overwrite it")
    if out.exists() and not (out / METADATA).exists() and any(out.iterdir()):
        raise UptakeInputError(f"file '{out}': exists and is not an uptake model; refusing to overwrite it")
    if out.parent.exists() and not os.access(out.parent, os.W_OK | os.X_OK):
        raise UptakeInputError(f"file '{out}': the directory {str(out.parent)!r} is not writable")
    return out


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def part_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.name != METADATA)


def checksums(directory: Path) -> dict[str, str]:
    return {p.relative_to(directory).as_posix(): sha256_of(p) for p in part_files(directory)}


@contextlib.contextmanager
def _locked(store: Path) -> Iterator[None]:
    with open(store / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _fix_permissions(directory: Path) -> None:
    """Version files follow the umask, like any Unix tool's output."""
    mask = current_umask()
    for p in [directory, *directory.rglob("*")]:
        if not p.is_symlink():
            os.chmod(p, (0o777 if p.is_dir() else 0o666) & ~mask)


def save_model(out: str | os.PathLike[str], card: ModelCard, history: Any, write_parts: Callable[[Path], None]) -> Path:
    """Build a whole new version of the model in the store beside ``out``, then publish it.

    ``write_parts(directory)`` writes the preprocessor, estimator and other files; the
    card is completed with their checksums and written last.
    """
    out = check_model_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    store = store_of(out)
    store.mkdir(exist_ok=True)
    try:
        with temporary(
            lambda: new_temp_dir(store / "version", suffix=".tmp"), lambda tmp: shutil.rmtree(tmp, ignore_errors=True)
        ) as tmp:
            write_parts(tmp)
            write_json(tmp / HISTORY, history)
            card = card.model_copy(update={"format": FORMAT, "parts": checksums(tmp)})
            write_json(tmp / METADATA, card.to_json())
            _fix_permissions(tmp)
            final = store / f"{card.version}-{uuid.uuid4().hex[:8]}"
            os.rename(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            store.rmdir()  # only if this was its first version: nothing else is in it
        raise
    with _locked(store):
        _publish(out, final)
        _clean(store, keep=final)
    return out


def _publish(out: Path, version: Path) -> None:
    if out.exists() and not out.is_symlink():
        if any(out.iterdir()):  # a release 0.1.0 model directory: keep it as a version of its own
            os.rename(out, version.parent / f"legacy-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}")
        else:
            out.rmdir()
    link = out.parent / f".{out.name}.link-{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(version, out.parent), link)
    os.replace(link, out)


def _clean(store: Path, keep: Path) -> None:
    """Remove all but the newest ``KEEP_VERSIONS`` complete versions (the current one always stays)."""
    versions = [p for p in store.iterdir() if p.is_dir() and not p.name.startswith(".")]
    versions.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    survivors = {keep, *versions[:KEEP_VERSIONS]}
    for p in versions:
        if p in survivors:
            continue
        try:
            fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a reader is loading it: the next clean-up removes it
        else:
            shutil.rmtree(p, ignore_errors=True)
        finally:
            os.close(fd)


@contextlib.contextmanager
def reading(version: Path) -> Iterator[bool]:
    """Hold a shared lock on one version directory while its files are read.

    Yields whether the version is still there once the lock is held (the clean-up may
    have removed it between resolving the link and locking); the clean-up never
    removes a version while a reader holds it.
    """
    try:
        fd = os.open(version, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield False
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield (version / METADATA).is_file()
    finally:
        os.close(fd)


def resolve(path: str | os.PathLike[str]) -> Path:
    """The version directory a model path names now (resolved once: read everything from it)."""
    path = Path(path)
    for _ in range(100):
        if path.is_symlink():
            target = Path(os.path.realpath(path))
            if target.is_dir():
                return target
        elif path.is_dir():
            return path
        if not store_of(path).is_dir():
            break
        time.sleep(0.02)  # a 0.1.0 directory is being moved into its store this very moment
    if path.is_symlink():
        raise UptakeInputError(
            f"file '{path}': a link to a model version that is not here ({os.readlink(path)!r}): its version store "
            f"'{store_of(path).name}' was not copied with it; copy a model with `cp -rL` (following the link)"
        )
    raise UptakeInputError(f"file '{path}': not an uptake model directory (no {METADATA})")


def read_card(version: Path, source: Path | None = None) -> ModelCard:
    """Read and validate the card of one version directory."""
    meta_path = version / METADATA
    shown = (source or version) / METADATA
    if not meta_path.is_file():
        raise UptakeInputError(f"file '{source or version}': not an uptake model directory (no {METADATA})")
    try:
        data = read_json(meta_path)
    except (OSError, ValueError) as exc:
        raise UptakeInputError(f"file '{shown}': unreadable model metadata ({exc})") from None
    return ModelCard.from_json(data, shown)


def verify_parts(version: Path, card: ModelCard, source: Path | None = None) -> None:
    """Every part the card lists is there, unchanged; nothing it does not list stands in for one."""
    for rel, digest in card.parts.items():
        path = version / rel
        if not path.is_file():
            raise UptakeInputError(f"file '{(source or version) / rel}': missing; the model directory is incomplete")
        if sha256_of(path) != digest:
            raise UptakeInputError(
                f"file '{(source or version) / rel}': changed since the model was saved "
                "(its checksum differs from the model card's)"
            )


def write_card(out: Path, card: ModelCard, copy_from: Path) -> Path:
    """A new version with the same parts and a new card (re-tuned threshold), published like a trained one."""

    def parts(tmp: Path) -> None:
        for item in copy_from.iterdir():
            if item.name in (METADATA, HISTORY):
                continue
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, tmp / item.name)

    history = read_json(copy_from / HISTORY) if (copy_from / HISTORY).exists() else None
    return save_model(out, card, history, parts)


def model_files(path: Path) -> dict[str, bytes]:
    """The current version's files as relative path -> bytes (what Dask ships to each worker)."""
    version = resolve(path)
    return {str(p.relative_to(version)): p.read_bytes() for p in sorted(version.rglob("*")) if p.is_file()}


__all__ = [
    "ESTIMATOR",
    "HISTORY",
    "METADATA",
    "PREPROCESSOR",
    "check_model_out",
    "checksums",
    "model_files",
    "read_card",
    "resolve",
    "save_model",
    "store_of",
    "verify_parts",
    "write_card",
]
