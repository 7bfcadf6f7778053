"""Schemathesis against the live app, from the document the app serves.

Every operation, called with and without a key holding every scope, with data valid
for its schema and with data that is not, answers within the responses its document
lists: no 5xx, no undocumented status, the content type it names, and a body valid
against the schema of that status. (Schemathesis's pytest plugin does not run under
pytest 9 yet, so its engine is driven here with Hypothesis directly.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from tests.api.conftest import bearer

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
EXAMPLES = 20


def isolated(app):
    """Each request in its own app context, as in production (tests.conftest.IsolatedClient)."""
    def wsgi(environ, start_response):
        with app.app_context():
            return list(app.wsgi_app(environ, start_response))
    return wsgi


@pytest.fixture
def api_schema(app, catalogue, sandbox_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", isolated(app))


def test_every_operation_answers_as_documented(api_schema, api_key):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 13
    failures = []
    for operation in operations:
        for mode in GenerationMode:
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case):
                for headers in ({}, bearer(api_key)):
                    response = case.call(headers=headers)
                    case.validate_response(response, checks=CHECKS)

            try:
                run()
            except (FailureGroup, AssertionError) as failure:
                failures.append(f"{operation.label} [{mode.value}]: {failure}")
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # nothing to get wrong
    assert not failures, "\n\n".join(failures)


def test_the_document_is_openapi_3_1_and_lists_the_api(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    assert {"/api/v1/products", "/api/v1/orders/{code}", "/api/v1/carts/{token}/checkout",
            "/api/v1/reports/sales"} <= set(doc["paths"])
    assert not any(path.startswith("/katalog") for path in doc["paths"])
    assert doc["paths"]["/api/v1/orders/{code}"]["get"]["security"] == [{"ApiKey": ["orders:read"]}]
