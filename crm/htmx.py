"""Full page or fragment in one place, and the one builder of list URLs."""

from urllib.parse import urlencode

from flask import make_response, redirect, render_template, request
from jinja2_fragments.flask import render_block


def is_htmx_fragment_request() -> bool:
    """Tell whether to answer with a fragment: an htmx request that is not boosted or a history restore."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(template: str, block: str | None = None, status: int = 200, **context):
    """Render the whole page, or only `block` when htmx asked for a fragment."""
    if block and is_htmx_fragment_request():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.headers.add("Vary", "HX-Request")
    return response


def url_with(**changes) -> str:
    """Return the current URL with some query arguments changed; None removes one.

    Changing anything but the page or cursor starts the list again from its first page.
    """
    args = request.args.to_dict()
    if not {"page", "cursor"} & changes.keys():
        args.pop("page", None)
        args.pop("cursor", None)
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    query = urlencode(args)
    return f"{request.path}?{query}" if query else request.path


def redirect_to(location: str, code: int = 303):
    """Redirect, telling htmx to load the whole page rather than swap it into a fragment."""
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, code)
