"""The OpenAPI 3.1 document, generated from the views and their pydantic models.

spectree (pydantic v2) rather than flask-smorest (marshmallow): pydantic's JSON Schema is
draft 2020-12, which is what OpenAPI 3.1 uses, so the document is 3.1 without translation
(apispec's marshmallow plugin still writes 3.0's ``nullable``); the same models validate
requests and our own answers, and pydantic is small and already what the ecosystem's
tools read. Only views decorated with ``spec.validate`` are in it (strict mode): the
HTML pages are not part of the API.

Every operation also documents the problem answers the API can give it (RFC 9457,
``application/problem+json``): which ones follow from how it is called (a key, a
body, a path id), added here in one place rather than on every view.
"""

from __future__ import annotations

import copy

from flask import current_app
from spectree import Response as Responses  # noqa: F401 (re-exported for the views)
from spectree import SpecTree

from . import problems
from .schemas import Problem

VERSION = "1.0.0"


def _before(request, response, error, instance, adapter):
    if error is not None:
        raise problems.ApiProblem(422, errors=problems.field_errors(error), slug="invalid-request")


spec = SpecTree(
    "flask", mode="strict", annotations=False, title="Gerai API", version=VERSION,
    description="Katalog UMKM dan koperasi Kota Tangerang, pesanan, checkout QRIS, laporan, "
                "webhook. The public, versioned JSON API of Gerai.",
    validation_error_status=422, validation_error_model=Problem, before=_before,
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda parent, child: child,
)

PROBLEM_TEXT = {
    400: "Bad request (malformed JSON, bad cursor)",
    401: "No key, or a key that is unknown or revoked",
    403: "The key lacks the scope",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict (stock, price or state changed)",
    413: "Body too large",
    415: "Body is not application/json",
    422: "Invalid parameters or body",
    429: "Rate limited (see Retry-After)",
    503: "Temporarily unavailable (see Retry-After)",
}


def _problem_schema_ref() -> dict:
    return {"$ref": "#/components/schemas/Problem"}


def document() -> dict:
    """The document for this app (servers: where it answers), built once per app."""
    cached = current_app.extensions.get("gerai_api_document")
    if cached is not None:
        return cached
    doc = copy.deepcopy(spec._generate_spec())
    doc["components"]["schemas"]["Problem"] = Problem.model_json_schema(
        ref_template="#/components/schemas/{model}")
    nested = doc["components"]["schemas"]["Problem"].pop("$defs", {})
    doc["components"]["schemas"].update(nested)
    doc["components"]["securitySchemes"] = {
        "ApiKey": {"type": "http", "scheme": "bearer", "bearerFormat": "gerai_<prefix>_<secret>",
                   "description": "Issued by the city office (Dinas Koperasi dan UMKM)."}}
    doc.pop("security", None)
    doc["info"]["license"] = {"name": "Open data of Kota Tangerang", "identifier": "CC-BY-4.0"}
    doc["servers"] = [{"url": "/"}]
    view_functions = current_app.view_functions
    for rule in current_app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = rule.rule
        for converter in ("<int:", "<"):
            while converter in path:
                start = path.index(converter)
                end = path.index(">", start)
                path = path[:start] + "{" + path[start + len(converter):end].split(":")[-1] + "}" \
                    + path[end + 1:]
        operations = doc["paths"].get(path)
        if not operations:
            continue
        scope = getattr(view_functions[rule.endpoint], "api_scope", None)
        for method, operation in operations.items():
            _complete(operation, method, rule, scope)
    current_app.extensions["gerai_api_document"] = doc
    return doc


def _complete(operation: dict, method: str, rule, scope: str | None) -> None:
    responses = operation["responses"]
    statuses = {400, 401, 429, 503}  # a bad key is refused on every operation
    if rule.arguments:
        statuses.add(404)
    if method == "post":
        statuses |= {409, 413, 415, 422}
    if operation.get("parameters"):
        statuses.add(422)
    if scope:
        statuses.add(403)
        operation["security"] = [{"ApiKey": [scope]}]
        operation["x-scope"] = scope
    else:
        operation["security"] = [{}, {"ApiKey": []}]
    if method == "get":
        responses["304"] = {"description": "Not modified (If-None-Match matched the ETag)"}
    for status in statuses:
        responses[str(status)] = {"description": PROBLEM_TEXT[status]}
    for status, answer in responses.items():
        if status.isdigit() and int(status) >= 400:
            answer["content"] = {problems.PROBLEM: {"schema": _problem_schema_ref()}}
            answer.setdefault("description", PROBLEM_TEXT.get(int(status), "Problem"))
