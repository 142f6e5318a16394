"""Schemathesis fuzzing of the live server's OpenAPI schema: no generated input may cause a 500.

The body schema is the one generated from the model's stored Schema, so this
exercises the request models with valid customers and edge values (positive mode)
and with everything that breaks the schema (negative mode): wrong types, missing
fields, junk uploads. Each operation and mode gets a bounded number of examples,
so the file runs in well under a minute.

(Schemathesis' own ``from_fixture`` pytest integration does not run under pytest 9,
so the strategies are driven with Hypothesis' ``@given`` directly.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from serve_live import live_server
from uptake.serve.config import ServeConfig

OPERATIONS = [
    ("POST", "/api/v1/predict"),
    ("POST", "/api/v1/predict/file"),
    ("GET", "/api/v1/model"),
    ("GET", "/health"),
]
EXAMPLES = 40


@pytest.fixture(scope="module")
def fuzz_server(quick_model, tmp_path_factory):
    db = tmp_path_factory.mktemp("fuzz") / "audit.sqlite"
    config = ServeConfig([str(quick_model)], db_url=f"sqlite:///{db}", max_rows=20, max_file_rows=500)
    with live_server(config) as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(fuzz_server):
    return schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")


def test_schema_lists_the_operations(api_schema) -> None:
    found = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert set(OPERATIONS) <= found


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_server_errors(api_schema, fuzz_server, method, path, mode) -> None:
    if mode == GenerationMode.NEGATIVE and path == "/health":
        pytest.skip("/health takes no input, so there is nothing to break")
    operation = api_schema[path][method]
    seen: dict[int, int] = {}

    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case) -> None:
        response = case.call(base_url=fuzz_server.url, timeout=30)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert response.status_code < 500, (case.body, case.query, response.status_code, response.text[:300])
        case.validate_response(response, checks=[not_a_server_error])

    check()
    assert seen, "nothing was generated"
    if mode == GenerationMode.POSITIVE and path == "/api/v1/predict":
        assert seen.get(200, 0) > 0, seen  # valid customers really were scored


def test_fuzzing_left_the_audit_log_healthy(fuzz_server) -> None:
    assert fuzz_server.audit.flush(30)
    assert fuzz_server.audit.stats()["failed"] == 0
