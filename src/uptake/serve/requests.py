"""Request models generated from a model's stored ``Schema``.

The API's body type is not written by hand: each feature column becomes one field
whose type and category set come from the schema saved with the model, so the API,
the web form and ``Model.score`` can never disagree about what a customer looks
like. A wrong type, a missing field or a non-finite number is a 422 naming the
field, decided by pydantic before any scoring code runs.

Each column's kind (``uptake.schema.kinds``) makes its field with the same policy
and the same words as file validation: a number beyond the training range or a
category never seen in training is scored and flagged (the answer's ``warnings``),
unless the server runs ``--strict``, which refuses it as files under ``--strict``
are refused (ranges widened by ``margin`` times the observed span). ``null`` is accepted for
every field and means "unknown"; it is imputed exactly as missing values were in
training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, NotRequired

from pydantic import BaseModel, BeforeValidator, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from uptake.audit.ids import ID_FIELD, MAX_ID_LENGTH, customer_key
from uptake.io.jsonable import jsonable
from uptake.schema import KINDS, Policy, Schema
from uptake.schema.kinds import DEFAULT_MARGIN, FieldSpec, bounds

#: Default most customers per JSON request (a campaign list goes through the file endpoint).
DEFAULT_MAX_ROWS = 1000


@dataclass
class RequestModels:
    """The pydantic validators and JSON Schema for one model's customers."""

    one: TypeAdapter[Any]
    many: TypeAdapter[Any]
    fields: list[FieldSpec]
    max_rows: int
    id_field: str = ID_FIELD

    def pop_ids(self, rows: list[dict[str, Any]]) -> list[str | None] | None:
        """Take each row's customer id out of it (the audit log keeps it apart); None when no row has one."""
        if not any(self.id_field in r for r in rows):
            return None
        return [r.pop(self.id_field, None) for r in rows]

    def customer_schema(self, ref_template: str = "#/components/schemas/{model}") -> dict[str, Any]:
        return self.one.json_schema(ref_template=ref_template)

    def parse(self, body: bytes) -> list[dict[str, Any]]:
        """Validate a JSON body holding one customer (an object) or a list of them.

        Raises ``pydantic.ValidationError``. The first non-blank byte picks the shape,
        so errors name the field (``Income``, or ``3, Income`` in a list) instead of
        reporting both alternatives of a union.
        """
        head = body.lstrip()[:1]
        if head == b"[":
            return self.many.validate_json(body)
        return [self.one.validate_json(body)]


def build_request_models(
    schema: Schema,
    margin: float = DEFAULT_MARGIN,
    max_rows: int = DEFAULT_MAX_ROWS,
    title: str = "Customer",
    strict: bool = False,
) -> RequestModels:
    """Pydantic validators for one customer and for a list of at most ``max_rows`` of them."""
    annotations: dict[str, Any] = {}
    specs: list[FieldSpec] = []
    policy = Policy(range_margin=margin, strict=strict)
    for col in schema.columns:
        annotations[col.name], spec = KINDS[col.kind].request_field(col, policy)
        specs.append(spec)
    id_field = ID_FIELD if ID_FIELD not in annotations else "customer_id"
    annotations[id_field] = NotRequired[id_annotation()]
    customer = TypedDict(title, annotations)  # type: ignore[misc] - names are the table's own, spaces and all
    customer.__doc__ = "One customer: a field per feature column of the model's training table."
    one = TypeAdapter(customer)
    many = TypeAdapter(Annotated[list[customer], Field(min_length=1, max_length=max_rows)])  # type: ignore[valid-type]
    return RequestModels(one, many, specs, max_rows, id_field)


def id_annotation() -> Any:
    """The optional customer id of a request row: text or an integer, kept in the audit log to join outcomes."""

    def parse(value: Any) -> str | None:
        if (value is not None and not isinstance(value, (str, int))) or isinstance(value, bool):
            raise PydanticCustomError("customer_id", "a customer id is text or an integer")
        try:
            return customer_key(value)
        except ValueError as exc:
            raise PydanticCustomError("customer_id", str(exc)) from None

    return Annotated[
        str | None,
        BeforeValidator(parse),
        Field(
            title="Customer id",
            description="Optional: who this is, kept in the audit log so that "
            "realised outcomes can be joined to the prediction (`uptake outcomes import`).",
            json_schema_extra={"maxLength": MAX_ID_LENGTH},
        ),
    ]


def error_details(exc: ValidationError, prefix: tuple[Any, ...] = ("body",)) -> list[dict[str, Any]]:
    """FastAPI's 422 shape (``loc``, ``msg``, ``type``), with the offending input where it is small."""
    out = []
    for e in exc.errors(include_url=False, include_context=False):
        item: dict[str, Any] = {"loc": [*prefix, *e["loc"]], "msg": e["msg"], "type": e["type"]}
        value = e.get("input")
        if isinstance(value, float) and not math.isfinite(value):
            item["input"] = str(value)  # NaN and infinity are not JSON: echo them as text
        elif e["type"] != "missing" and (
            value is None or isinstance(value, (int, float, bool)) or (isinstance(value, str) and len(value) <= 80)
        ):
            item["input"] = jsonable(value)
        out.append(item)
    return out


def error_message(details: list[dict[str, Any]]) -> str:
    """One readable line for the page: ``Income: Input should be less than or equal to 278``."""
    first = details[0]
    loc = [str(p) for p in first["loc"] if p != "body"]
    where = ", ".join(f"row {int(p) + 1}" if p.isdigit() else p for p in loc) or "body"
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return f"{where}: {first['msg']}{more}"


# ---- response models (documentation and tests; responses are serialised directly) ----------
class Reason(BaseModel):
    """One reason behind a customer's score (``uptake.explain.reasons``)."""

    feature: str = Field(description="The column, or the columns that move together ('Age and Experience').")
    features: list[str] = Field(default_factory=list, description="The columns of this reason.")
    value: Any = Field(None, description="The customer's value; for a group, one value per column.")
    effect: float = Field(
        description="This column's (or group's) share of the log-odds against the average customer; "
        "positive raises the chance."
    )
    probability_change: float | None = Field(None, description="The same move in probability.")
    direction: str = Field("", description="'raises' or 'lowers'.")
    text: str = ""


class Prediction(BaseModel):
    probability: float = Field(ge=0.0, le=1.0, description="Probability that the customer takes up the offer.")
    decision: int = Field(description="1 when the probability is at or above the model's threshold, else 0.")
    reasons: list[Reason] = Field(
        default_factory=list, description="Top reasons, strongest first, when asked for with reasons=true."
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="Unusual values the score rests on, e.g. 'Income above the training range' (scored, not refused).",
    )


class PredictResponse(BaseModel):
    request_id: str
    model_version: str
    threshold: float
    predictions: list[Prediction]


class ErrorResponse(BaseModel):
    detail: Any


__all__ = [
    "DEFAULT_MARGIN",
    "DEFAULT_MAX_ROWS",
    "ErrorResponse",
    "FieldSpec",
    "PredictResponse",
    "Prediction",
    "Reason",
    "RequestModels",
    "bounds",
    "build_request_models",
    "error_details",
    "error_message",
]
