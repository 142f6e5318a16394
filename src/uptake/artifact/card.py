"""The model card: the typed schema of ``metadata.json``.

Everything a saved model says about itself (its schema, threshold and the rule that
chose it, calibration, metrics, data fingerprint, versions, and the checksums of its
parts) is one pydantic model, validated whole when a model is loaded, so a damaged
or hand-edited card is refused with one line naming the field, and no reader guesses
keys. Cards written by release 0.1.0 (format ``uptake-model/1``, without checksums)
read into the same model.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer

from uptake.decide.decision import check_threshold
from uptake.decide.thresholds import RULES
from uptake.errors import UptakeInputError
from uptake.schema import Schema

FORMAT = "uptake-model/2"
FORMATS = ("uptake-model/1", FORMAT)


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", arbitrary_types_allowed=True)


class _Sparse(_Part):
    """A part whose unset optional fields are left out when written (money only when given, ...)."""

    @model_serializer(mode="wrap")
    def _without_unset(self, handler: Any) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class Metrics(_Part):
    """The 14 headline metrics of one split (``uptake.decide.metrics``); NaN is stored as null."""

    tp: int
    fp: int
    tn: int
    fn: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float | None = None
    pr_auc: float | None = None
    brier: float | None = None
    threshold: float
    n: int
    positives: int


class SplitMetrics(_Part):
    validation: Metrics
    test: Metrics


class Expected(_Sparse):
    """What the threshold was expected to do on the rows it was chosen on."""

    threshold: float
    rows: int
    positives: int
    calls: int
    call_share: float
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    contact_cost: float | None = None
    accept_value: float | None = None
    profit: float | None = None
    profit_per_customer: float | None = None
    profit_if_calling_everyone: float | None = None


class RuleCard(_Sparse):
    """The rule that chose the threshold (``uptake.decide.thresholds``) and where."""

    rule: str
    min_recall: float | None = None
    min_precision: float | None = None
    value: float | None = None
    contact_cost: float | None = None
    accept_value: float | None = None
    chosen_on: str = "validation"
    expected: Expected | None = None
    data_sha256: str | None = None
    warning: str | None = None

    @field_validator("rule")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in RULES:
            raise ValueError(f"unknown threshold rule {v!r}")
        return v

    def entry(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Brier(_Part):
    before: float | None
    after: float | None


class CalibrationCard(_Part):
    method: Literal["isotonic", "sigmoid"]
    #: why the method differs from what was asked for (too few positives for isotonic)
    note: str | None = None
    fitted_on: str = "validation"
    brier_validation: Brier | None = None
    brier_test: Brier | None = None


class ImbalanceCard(_Part):
    strategy: str | None = None
    class_weight_formula: str | None = None
    initial_bias: bool | None = None


class SummaryCard(_Part):
    rows: int
    positives: int
    positive_share: float
    dropped: list[dict[str, str]] = Field(default_factory=list)
    missing: dict[str, int] = Field(default_factory=dict)
    suspicious: list[str] = Field(default_factory=list)
    blank_rows: int = 0
    duplicate_rows: int = 0
    warnings: list[str] = Field(default_factory=list)


class DataCard(_Part):
    file: str | None = None
    sha256: str | None = None
    rows: int
    positives: int
    split_rows: dict[str, int] = Field(default_factory=dict)
    summary: SummaryCard | None = None


class ModelCard(_Part):
    """``metadata.json``: see the module docstring."""

    format: Literal["uptake-model/1", "uptake-model/2"] = FORMAT
    version: str
    created: str
    model_type: str
    schema_: Schema = Field(alias="schema")
    target: str
    positive_label: str
    #: What the positive class is called in sentences (acceptors, frauds, ...).
    positive_name: str = "acceptors"
    threshold: float
    threshold_rule: RuleCard
    previous_threshold_rule: dict[str, Any] | None = None
    preset: str | None = None
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    imbalance: ImbalanceCard = Field(default_factory=ImbalanceCard)
    calibration: CalibrationCard | None = None
    probability_note: str = ""
    numeric_encoding: str = "standard"
    categorical_encoding: str = "onehot"
    metrics: SplitMetrics
    data: DataCard
    train_config: dict[str, Any] = Field(default_factory=dict)
    fit_seconds: float = 0.0
    #: A small table's served model refit on every labelled row after it was measured (rows, size, note).
    final_refit: dict[str, Any] | None = None
    #: The reasons' groups of correlated columns and background rows (``uptake.features.groups``).
    explanation: dict[str, Any] | None = None
    #: The rows the served model learnt from, as hashes in fingerprint.u64 (file, rows, bytes, which rows).
    fingerprint: dict[str, Any] | None = None
    seed: int = 0
    versions: dict[str, str] = Field(default_factory=dict)
    #: Every other file of the model directory, by relative path, with its SHA-256 (format 2).
    parts: dict[str, str] = Field(default_factory=dict)

    model_config = ConfigDict(extra="ignore", arbitrary_types_allowed=True, populate_by_name=True)

    @field_validator("schema_", mode="before")
    @classmethod
    def _schema(cls, v: Any) -> Schema:
        if isinstance(v, Schema):
            return v
        if not isinstance(v, dict):
            raise ValueError("must be an object with the model's columns")
        try:
            return Schema.from_dict(v)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"incomplete ({type(exc).__name__}: {exc})") from None

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, v: float) -> float:
        try:
            return check_threshold(v, "")
        except UptakeInputError as exc:
            raise ValueError(str(exc).lstrip(": ")) from None

    @property
    def schema(self) -> Schema:  # type: ignore[override] - the card's field, not pydantic's old method
        return self.schema_

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_json(cls, data: Any, source: object) -> ModelCard:
        """Validate a card read from ``source``; any problem is one line naming the field."""
        if not isinstance(data, dict):
            raise UptakeInputError(f"file '{source}': not an uptake model card (it holds a {type(data).__name__})")
        if data.get("format") not in FORMATS:
            raise UptakeInputError(f"file '{source}': not an uptake model (format {data.get('format')!r})")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "card"
            raise UptakeInputError(
                f"file '{source}': field '{where}' of the model card: {first['msg'].removeprefix('Value error, ')}"
            ) from None


__all__ = [
    "FORMAT",
    "FORMATS",
    "CalibrationCard",
    "DataCard",
    "Expected",
    "ImbalanceCard",
    "Metrics",
    "ModelCard",
    "RuleCard",
    "SplitMetrics",
    "SummaryCard",
]
