"""url_for for templates, fast for the links a list repeats on every row."""

from flask import has_request_context, request
from flask import url_for as flask_url_for

# A list page builds the same few links (a contact, a status post) for each of its rows, and Werkzeug's
# builder costs far more than filling an id into a string: such links are built once and filled in.
_patterns: dict[tuple, str] = {}
_MARK = 987654320  # never part of a route's fixed text


def url_for(endpoint: str, **values) -> str:
    """Return flask.url_for(endpoint, **values); links whose every value is an id reuse a built pattern."""
    if not values or not has_request_context() or any(type(v) is not int for v in values.values()):
        return flask_url_for(endpoint, **values)
    names = tuple(sorted(values))
    key = (request.script_root, endpoint, names)
    pattern = _patterns.get(key)
    if pattern is None:
        built = flask_url_for(endpoint, **{name: _MARK + n for n, name in enumerate(names)})
        pattern = built.replace("{", "{{").replace("}", "}}")
        for n, name in enumerate(names):
            pattern = pattern.replace(str(_MARK + n), "{" + name + "}")
        _patterns[key] = pattern
    return pattern.format(**values)
