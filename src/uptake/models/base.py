"""The contract every model family keeps, so the rest of uptake never asks what it is talking to.

A family is a scikit-learn classifier over preprocessed float32 arrays that:

* declares its parameters in ``_parameter_constraints`` (scikit-learn's own
  declarative validation) and checks them before any training, with one-line errors;
* trains with ``fit(X, y, *, X_val=None, y_val=None)``, the validation rows being the
  ones early stopping and weights are chosen on;
* answers ``predict_proba`` with an ``(n, 2)`` float64 array;
* saves itself into a directory in its own safe format (Keras files, LightGBM text,
  JSON) plus one JSON sidecar written and checked by ``write_sidecar``/``read_sidecar``,
  and loads without running code from the files;
* says what it needs and offers through plain methods with defaults
  (``numeric_encoding``, ``training_history``, ``imbalance_info``,
  ``held_out_validation``, ``numpy_forward``, ``contributions``, ``refit_params``)
  instead of being probed with ``getattr``.

Adding a family: one module with a ``Family`` subclass and one line in
``uptake.models.FAMILIES`` (docs/architecture.md walks through it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from uptake.errors import UptakeInputError
from uptake.io.jsonable import dumps

#: Training options that only some families honour; a family refuses the ones it ignores.
FAMILY_OPTIONS = (
    "hidden",
    "dropout",
    "learning_rate",
    "batch_size",
    "epochs",
    "class_weight_formula",
    "initial_bias",
    "time_limit",
    "refit_full",
)


#: Training rows below which a single tree family, once stopped early (or chosen) on the validation rows, is
#: refit on the training and validation rows together at that size: a fifth more rows is worth more to a
#: small table than the early-stopped model's own validation split, which still chose the size, the threshold
#: and the calibrator on predictions it never trained on (``held_out_validation``). docs/models.md.
REFIT_ROWS = 50_000


def refit_wanted(refit: bool | None, rows: int) -> bool:
    """A family's ``refit`` parameter: ``None`` decides from the training rows (:data:`REFIT_ROWS`)."""
    return bool(refit) if refit is not None else rows < REFIT_ROWS


def scaled(params: Mapping[str, Any], scale: float) -> dict[str, Any]:
    """Integer sizes (rounds, iterations, epochs) times ``scale``; other parameters as they are."""
    return {
        k: max(1, int(round(v * scale))) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else v
        for k, v in params.items()
    }


class Unsupported(Exception):
    """The family offers no such capability (for example a numpy forward pass); callers fall back."""


def write_sidecar(directory: Path, family: type[Family], state: Mapping[str, Any]) -> None:
    """The family's JSON sidecar: format, version and its own state."""
    body = {"format": family.format, "version": family.format_version, **state}
    (Path(directory) / family.sidecar).write_text(dumps(body, indent=2), encoding="utf-8")


def read_sidecar(directory: Path, family: type[Family]) -> dict[str, Any]:
    """Read and check a family's sidecar; anything unexpected is a one-line error naming the file."""
    path = Path(directory) / family.sidecar
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UptakeInputError(f"file '{path}' not found; is this a saved {family.format} model?") from None
    except (OSError, ValueError) as exc:
        raise UptakeInputError(f"file '{path}' is not valid JSON: {exc}") from None
    if (
        not isinstance(meta, dict)
        or meta.get("format") != family.format
        or meta.get("version") != family.format_version
    ):
        raise UptakeInputError(f"file '{path}' is not a {family.format} version {family.format_version} file")
    return meta


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class Family(ClassifierMixin, BaseEstimator):
    """Base class of uptake's model families; see the module docstring."""

    #: The name users pass to ``--model`` and the model card stores.
    name: ClassVar[str]
    #: The JSON file this family writes beside its own files, and its format tag.
    sidecar: ClassVar[str]
    format: ClassVar[str]
    format_version: ClassVar[int] = 1
    #: Which of ``FAMILY_OPTIONS`` this family honours.
    accepts: ClassVar[frozenset[str]] = frozenset()
    #: The family in words, for messages ("LightGBM").
    label: ClassVar[str] = ""
    #: Imbalance strategies the family supports, when it does not take them all.
    imbalance_options: ClassVar[tuple[str, ...] | None] = None
    #: The library whose files a saved model of this family holds (the model card's software row).
    library: ClassVar[str | None] = None

    # ---- what ``--model auto`` needs to know of a member family (AutoGluon's models declare the same) ----
    #: Whether ``auto`` may search candidates of this family.
    auto_member: ClassVar[bool] = False
    #: After bagging, a chosen candidate is refit once on all rows (False: its fold models serve).
    refit_after_bagging: ClassVar[bool] = True
    #: Where a fold model stops early: ``held-out`` (the fold's held-out rows) or ``own`` (a share of its
    #: own training rows, so the held-out rows stay unseen by any choice it makes).
    stops_early_on: ClassVar[str] = "held-out"
    #: The cost prior auto plans with before a fold is measured: seconds per 1,000 training rows (2 cores),
    #: at least ``cost_floor`` seconds, rows counted up to ``cost_rows_cap``.
    cost_per_1k_rows: ClassVar[float] = 1.0
    cost_floor: ClassVar[float] = 0.0
    cost_rows_cap: ClassVar[int | None] = None
    #: Parameters a candidate of this family takes instead when auto searches on one holdout.
    holdout_params: ClassVar[dict[str, Any]] = {}
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}

    # ---- construction from the CLI's options --------------------------------------------
    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        """An option this family ignores would be silently dropped; say so instead."""
        for name in FAMILY_OPTIONS:
            if name not in cls.accepts and options.get(name) is not None:
                users = "--model auto" if name in ("time_limit", "refit_full") else "networks"
                flag = "--refit-full/--bagged" if name == "refit_full" else f"--{name.replace('_', '-')}"
                raise UptakeInputError(f"{flag}: applies to {users}, not to --model {cls.name}")

    @classmethod
    def from_options(cls, options: Mapping[str, Any], callbacks: Sequence[Any] = ()) -> Family:
        """The estimator a training run asks for (``options``: the TrainConfig's fields)."""
        raise NotImplementedError

    def check_params(self) -> None:
        """Validate the constructor parameters against ``_parameter_constraints`` (before any training)."""
        strategy = getattr(self, "imbalance", None)
        if self.imbalance_options is not None and strategy not in self.imbalance_options:
            raise UptakeInputError(
                f"--imbalance {strategy!r}: {self.label or self.name} supports {', '.join(self.imbalance_options)}"
            )
        try:
            self._validate_params()
        except InvalidParameterError as exc:
            raise UptakeInputError(one_line(exc)) from None

    # ---- the estimator API -------------------------------------------------------------------
    def fit(self, X: Any, y: Any, *, X_val: Any = None, y_val: Any = None) -> Family:
        raise NotImplementedError

    def predict_proba(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    def predict(self, X: Any) -> np.ndarray:
        """scikit-learn's labels at 0.5; uptake's own decisions use the model's chosen threshold."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def check_is_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit or load first")

    def check_width(self, X: np.ndarray) -> None:
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise UptakeInputError(f"X has shape {X.shape} but the model was fitted on {self.n_features_in_} features")

    def checked(self, X: Any) -> np.ndarray:
        """Rows to predict on: fitted, float64, of the fitted width."""
        self.check_is_fitted()
        X = np.asarray(X, dtype=np.float64)
        self.check_width(X)
        return X

    def mark_fitted(self, n_features: int) -> None:
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = int(n_features)

    # ---- capabilities, with defaults -----------------------------------------------------------------
    @classmethod
    def member_class(cls) -> type[Family]:
        """The class ``auto`` trains as a member of this family (the family itself, unless it needs its own
        encoding of auto's shared inputs)."""
        return cls

    @classmethod
    def fits_per_candidate(cls, params: Mapping[str, Any], rows: int) -> int:
        """Models one fit of a candidate with ``params`` trains on ``rows`` rows, each costing a fold."""
        return 1

    def numeric_encoding(self) -> str:
        """How this family wants numeric columns preprocessed (``standard`` or piecewise-linear ``ple``)."""
        return "standard"

    def categorical_encoding(self) -> str:
        """How this family wants categories (``onehot``, or ``ordinal`` codes for families that handle them)."""
        return "onehot"

    def set_layout(self, layout: list[tuple[str, str]]) -> None:
        """Told before ``fit``: the raw column and kind behind each input (families that need it keep it)."""

    def training_history(self) -> list[dict[str, list[float]]] | None:
        """Per-epoch metrics of each trained network, when the family trains in epochs."""
        return None

    def hyperparameters(self) -> dict[str, Any]:
        return self.get_params(deep=False)

    def libraries(self) -> list[str]:
        """The libraries whose files a saved model of this estimator holds (a combination: its members')."""
        return [self.library] if self.library else []

    def imbalance_info(self) -> dict[str, Any]:
        """The imbalance strategy as the model card records it."""
        return {"strategy": getattr(self, "imbalance", "none"), "class_weight_formula": None, "initial_bias": None}

    def held_out_validation(self) -> np.ndarray | None:
        """Raw probabilities of the validation rows from models that never trained on them.

        Only for families that also train on the validation rows (``auto`` bags over
        training and validation rows together and keeps their out-of-fold predictions);
        the threshold and calibrator are then chosen on these. None: predict them.
        """
        return None

    def numpy_forward(self) -> Callable[[np.ndarray], np.ndarray]:
        """Preprocessed rows -> positive-class probability in plain numpy, for the serving fast path."""
        raise Unsupported(f"{self.name} has no numpy forward pass")

    def refit_params(self) -> dict[str, Any]:
        """Parameters that train a model this size again without validation rows (``auto``'s refit on all rows).

        Families that stop early return the rounds they kept (LightGBM ``n_estimators``,
        CatBoost ``iterations``); the others need nothing.
        """
        return {}

    def refit_on(self, X: Any, y: Any, scale: float = 1.0) -> Family:
        """This model's kind and size trained again on other rows, without validation rows (the final refit of a
        small table on all its labelled rows). ``scale``: counts of rounds grow with the rows (more rows carry
        more rounds before they overfit), by the ratio of the new rows to those the size was chosen on."""
        model = clone(self)
        if "refit" in model.get_params():
            model.set_params(refit=False)
        model.set_params(**scaled(self.refit_params(), scale))
        for name in ("categorical_inputs_", "layout_"):  # what set_layout told it
            if hasattr(self, name):
                setattr(model, name, getattr(self, name))
        return model.fit(X, y)

    def contributions(self, X: np.ndarray) -> np.ndarray | None:
        """Exact per-input contributions to the log-odds (rows x inputs + bias), where the library offers them."""
        return None

    # ---- persistence --------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.check_is_fitted()
        write_sidecar(directory, type(self), self.save_files(directory))
        return directory

    def save_files(self, directory: Path) -> dict[str, Any]:
        """Write the family's own files; return the sidecar's state."""
        raise NotImplementedError

    @classmethod
    def load(cls, directory: str | Path) -> Family:
        directory = Path(directory)
        meta = read_sidecar(directory, cls)
        params = meta.get("params")
        unknown = sorted(set(params) - set(cls._get_param_names())) if isinstance(params, dict) else []
        if unknown:
            raise UptakeInputError(
                f"file '{directory / cls.sidecar}': parameters {', '.join(unknown)} are unknown "
                "to this release of uptake: was the model saved by a newer one?"
            )
        try:
            return cls.load_files(directory, meta)
        except UptakeInputError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise UptakeInputError(
                f"file '{directory / cls.sidecar}': damaged or incomplete ({type(exc).__name__}: {one_line(exc)})"
            ) from None

    @classmethod
    def load_files(cls, directory: Path, meta: dict[str, Any]) -> Family:
        """Rebuild a fitted estimator from its files and sidecar state."""
        raise NotImplementedError


__all__ = [
    "FAMILY_OPTIONS",
    "REFIT_ROWS",
    "Family",
    "Unsupported",
    "one_line",
    "read_sidecar",
    "refit_wanted",
    "write_sidecar",
]
