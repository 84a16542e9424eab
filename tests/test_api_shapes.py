"""The API's shapes are declared once (crm/api/shapes.py): routes, checks and the document agree."""

import re

import pytest

from crm.api.openapi import document

from .test_api import api, valid_body, world  # noqa: F401  the same CRM as the contract tests

METHODS = {"get", "put", "post", "delete", "patch"}


def test_every_crm_api_route_is_in_the_document_and_nothing_else(app):
    routed = {
        (method.lower(), re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/crm/")
        for method in rule.methods
        if method.lower() in METHODS
    }
    documented = {(method, path) for path, item in document()["paths"].items() for method in item}
    assert routed == documented


@pytest.mark.parametrize(
    ("kind", "path", "changes", "errors"),
    [
        (
            "property",
            "/api/crm/properties",
            {"favourite_colour": "blue", "enquiry_count": 5},
            {"favourite_colour": "Unknown field.", "enquiry_count": "This field is set by the CRM; leave it out."},
        ),
        (
            "contact",
            "/api/crm/contacts",
            {"type": None},
            {"type": "This field is required. Choose one of: owner, guest."},
        ),
        (
            "property",
            "/api/crm/properties",
            {"bedrooms": "three", "title": "x" * 161},
            {"bedrooms": "Must be a whole number.", "title": "Must be at most 160 characters."},
        ),
        ("membership", "/api/crm/memberships", {"plan_price": "£-5"}, {"plan_price": "Must not be negative."}),
    ],
)
def test_field_errors_keep_their_wording(world, kind, path, changes, errors):  # noqa: F811
    response = world["client"].post(path, json=valid_body(kind, world) | changes)
    assert response.status_code == 422
    assert response.json == {"errors": errors}


def test_checks_across_fields_still_run_beside_field_errors(world):  # noqa: F811
    """A bad field does not hide the problems the database would find with the others."""
    response = world["client"].post(
        "/api/crm/properties", json=valid_body("property", world) | {"max_guests": 0, "owner_id": 999_999}
    )
    assert response.status_code == 422
    assert response.json["errors"] == {
        "max_guests": "Must be from 1 to 10,000.",
        "owner_id": "No contact has id 999999.",
    }


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("?type=alien", "Unknown type 'alien'; use one of: owner, guest."),
        ("?stauts=new", "Unknown query parameter 'stauts'; this list takes: cursor, limit, search, status, type."),
        ("?limit=0", "limit must be a whole number from 1 to 500."),
        ("?status=active&status=blocked", "Give 'status' at most once."),
    ],
)
def test_query_errors_keep_their_wording(world, query, error):  # noqa: F811
    response = world["client"].get("/api/crm/contacts" + query)
    assert response.status_code == 400
    assert response.json == {"error": error}


def test_path_variables_are_written_the_openapi_way():
    from flask import Blueprint

    from crm.api.openapi import path_of

    reports = Blueprint("reports_example", __name__, url_prefix="/api/crm")
    assert path_of(reports, "/reports/owners/<int:contact_id>") == "/api/crm/reports/owners/{contact_id}"
    assert path_of(reports, "/a/<name>/b/<path:rest>") == "/api/crm/a/{name}/b/{rest}"


def test_a_query_with_aliases_and_plain_types(app):
    """The way a report endpoint declares `from` and `to`: names in the URL by alias, empty means "any"."""
    from datetime import date

    from pydantic import Field

    from crm.api.fields import ApiError, check_query
    from crm.api.shapes import Query

    class Period(Query):
        from_: date | None = Field(None, alias="from", description="First day.")
        to: date | None = Field(None, description="Last day.")

    with app.test_request_context("/?from=2026-01-31&to="):
        assert check_query(Period).from_ == date(2026, 1, 31)
    with app.test_request_context("/?to=soon"):
        with pytest.raises(ApiError) as refused:
            check_query(Period)
        assert refused.value.status == 400 and refused.value.message.startswith("to: ")
    with app.test_request_context("/?from_=2026-01-31"):
        with pytest.raises(ApiError, match="Unknown query parameter 'from_'; this list takes: from, to."):
            check_query(Period)
