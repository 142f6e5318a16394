"""Answers serialised once, to bytes: orjson when installed (faster), strict JSON either way."""

from __future__ import annotations

import json
from typing import Any

try:  # orjson is optional: faster when installed, same bytes semantics otherwise
    import orjson

    def dumps(obj: Any) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)

except ImportError:  # pragma: no cover - depends on the environment

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()


__all__ = ["dumps"]
