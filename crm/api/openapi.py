"""The CRM API's endpoints, each declared once with its shapes; the OpenAPI 3.1 document is built from them.

To add an endpoint, declare its shapes in shapes.py (or a module beside it): a Query subclass for its
query parameters (Filters, for a list's: it adds limit and cursor), an Input subclass for a body, a
Record or any BaseModel for the answer. Then route it with `endpoint`:

    @endpoint(bp, "get", "/crm/reports/funnel", "The enquiry funnel", answer=shapes.Funnel,
              query=shapes.FunnelQuery, errors=(400,))
    def funnel(query: shapes.FunnelQuery):
        return shapes.Funnel(...)          # or an ORM row: answers are validated from attributes

The view gets the checked query string as `query` and the checked body as `body` (a fields.Body of
values and errors, for the view's cross-field checks), and the rule's path variables as Flask passes
them (`path` gives each a description for the document); what it returns is serialised through
`answer`, by alias (so a field can be called `from_` and answer as "from").
Endpoints are for admins only (401 and 403, documented) unless `public=True`; writes are exempt from
CSRF because they take JSON only. List any other error statuses in `errors`. Finally
add the module to ENDPOINT_MODULES below if it is not there, so the document sees its endpoints.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import Any

from flask import Blueprint, jsonify
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from ..auth import admin_required
from ..extensions import csrf
from . import shapes
from .fields import check_body, check_query, json_object

ENDPOINT_MODULES = ("crm.api.views", "crm.api.reports")
REF = "#/components/schemas/{model}"
ERRORS = {
    400: (
        "Bad request: malformed JSON, an unknown query parameter or filter value, a bad limit or cursor.",
        shapes.Error,
    ),
    401: ("Not signed in.", shapes.Error),
    403: ("Signed in, but not as an admin.", shapes.Error),
    404: ("No record has that id.", shapes.Error),
    409: ("The record would duplicate another; the error names it.", shapes.Error),
    413: ("The body is larger than 1 MB.", shapes.Error),
    415: ("The body was not sent as application/json.", shapes.Error),
    422: ("Some fields are not valid; each is named with its problem.", shapes.ValidationErrors),
}
# Every write can meet these: a malformed, oversized or non-JSON body, or invalid fields.
WRITE_ERRORS = (400, 413, 415, 422)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    answer: Any  # a model or other type to serialise the view's result through; None for a plain JSON object
    answer_description: str
    status: int
    query: type[shapes.Query] | None
    body: type[shapes.Input] | None
    errors: tuple[int, ...]
    description: str | None
    public: bool
    path_parameters: dict[str, str]


OPERATIONS: list[Operation] = []


@cache
def adapter(answer: Any) -> TypeAdapter:
    return TypeAdapter(answer)


def path_of(blueprint: Blueprint, rule: str) -> str:
    """The operation's path in the document: Flask's <converter:name> is OpenAPI's {name}."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", (blueprint.url_prefix or "") + rule)


def endpoint(
    blueprint: Blueprint,
    method: str,
    rule: str,
    summary: str,
    *,
    answer: Any,
    answer_description: str = "The result.",
    status: int = 200,
    query: type[shapes.Query] | None = None,
    body: type[shapes.Input] | None = None,
    errors: tuple[int, ...] = (),
    description: str | None = None,
    public: bool = False,
    path: dict[str, str] | None = None,
):
    """Route `rule` on `blueprint` for `method`, checking its query or body and serialising its answer."""
    document_path = path_of(blueprint, rule)
    path_parameters = {name: (path or {}).get(name, "") for name in re.findall(r"{([^}]+)}", document_path)}
    operation = Operation(
        method,
        document_path,
        summary,
        answer,
        answer_description,
        status,
        query,
        body,
        errors,
        description,
        public,
        path_parameters,
    )
    OPERATIONS.append(operation)

    def decorate(view):
        @functools.wraps(view)
        def handle(**kwargs):
            if query is not None:
                kwargs["query"] = check_query(query)
            if body is not None:
                kwargs["body"] = check_body(body, json_object())
            result = view(**kwargs)
            if answer is None:
                return jsonify(result), status
            checked = adapter(answer).validate_python(result, from_attributes=True)
            return jsonify(adapter(answer).dump_python(checked, mode="json", by_alias=True)), status

        if not public:
            handle = admin_required(handle)  # before anything else looks at the request
        if method != "get":
            # Writes take application/json only, which a cross-site form cannot send (fields.json_object).
            csrf.exempt(handle)
        blueprint.add_url_rule(rule, view_func=handle, methods=[method.upper()])
        return view

    return decorate


# --- The document ------------------------------------------------------------------------------------------


def json_content(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def parameters(query: type[shapes.Query], schema: dict) -> list[dict]:
    """One query parameter per field, by its name in the URL: a list's own filters first, then paging."""
    paging = list(shapes.Filters.model_fields)
    names = [field.alias or name for name, field in query.model_fields.items() if name not in paging]
    names += [name for name in paging if name in query.model_fields]
    answer = []
    for name in names:
        field = clean(schema["properties"][name])
        description = field.pop("description", "")
        if field.get("default") is None:
            field.pop("default", None)
        answer.append({"name": name, "in": "query", "required": False, "description": description, "schema": field})
    return answer


def describe(operation: Operation, schemas: dict) -> dict:
    answers = {
        str(operation.status): {
            "description": operation.answer_description,
            **json_content(
                schemas[operation.answer, "serialization"] if operation.answer is not None else {"type": "object"}
            ),
        }
    }
    for status in (() if operation.public else (401, 403)) + operation.errors:
        text, model = ERRORS[status]
        answers[str(status)] = {"description": text, **json_content(schemas[model, "serialization"])}
    described: dict[str, Any] = {"summary": operation.summary}
    if operation.description:
        described["description"] = operation.description
    if operation.public:
        described["security"] = []
    in_path = [
        {"name": name, "in": "path", "required": True, "description": text, "schema": {"type": "string"}}
        for name, text in operation.path_parameters.items()
    ]
    if in_path or operation.query is not None:
        described["parameters"] = in_path + (
            parameters(operation.query, operation.query.model_json_schema()) if operation.query is not None else []
        )
    if operation.body is not None:
        described["requestBody"] = {"required": True, **json_content(schemas[operation.body, "validation"])}
    described["responses"] = dict(sorted(answers.items()))
    return described


def clean(node: Any) -> Any:
    """Drop the titles Pydantic derives from field names: they repeat the names and say nothing more."""
    if isinstance(node, dict):
        return {key: clean(value) for key, value in node.items() if not (key == "title" and isinstance(value, str))}
    if isinstance(node, list):
        return [clean(value) for value in node]
    return node


@cache
def build() -> dict[str, Any]:
    for module in ENDPOINT_MODULES:
        import_module(module)  # importing a module of endpoints registers them
    models = {(model, "serialization") for model in (shapes.Error, shapes.ValidationErrors, shapes.List)}
    for operation in OPERATIONS:
        if isinstance(operation.answer, type) and issubclass(operation.answer, BaseModel):
            models.add((operation.answer, "serialization"))
        if operation.body is not None:
            models.add((operation.body, "validation"))
    schemas, definitions = models_json_schema(sorted(models, key=lambda pair: pair[0].__name__), ref_template=REF)
    paths: dict[str, dict] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method] = describe(operation, schemas)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Stay & Celebrate CRM API",
            "version": "1.0.0",
            "description": (
                "The admin CRM as JSON. Every endpoint but this document needs an admin's session cookie "
                "(sign in at /login). Writes take `Content-Type: application/json` only, which is what protects "
                "them from cross-site requests, so they need no CSRF token. Lists are pages of "
                '`{"items", "next_cursor"}`: pass `next_cursor` back as `cursor` until it is null. '
                "Records use the column names of the CRM tables; times are UTC."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"adminSession": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "adminSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "The session cookie of a signed-in admin.",
                },
            },
            "schemas": clean(definitions["$defs"]),
        },
    }


def document() -> dict[str, Any]:
    """Return a copy of the document, safe for the caller to change."""
    return copy.deepcopy(build())
