"""Error pages: HTML for pages, JSON for /api/."""

from flask import Flask, jsonify, make_response, render_template, request
from flask.globals import request_ctx
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import db, login_manager

MESSAGES = {
    400: "The request could not be understood.",
    401: "Please sign in.",
    403: "You do not have access to this page.",
    404: "We could not find that page.",
    405: "That method is not allowed here.",
    413: "That request is too large.",
    422: "Some of the details need another look.",
    429: "Too many requests. Please wait a moment and try again.",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


# Blueprints whose every page needs a signed-in user: a stale form there means the session ended.
SIGNED_IN_BLUEPRINTS = {"admin", "owner"}


def error_response(status: int, message: str | None = None):
    message = message or MESSAGES.get(status, "Something went wrong.")
    if wants_json():
        return make_response(jsonify(error=message), status)
    if request_ctx.url_adapter is None:
        # The request named a host no link can be built for (a Host header that is not a host name): a page
        # links its styles and menus, so the message goes as plain text.
        return make_response(message, status, {"Content-Type": "text/plain; charset=utf-8"})
    return make_response(render_template("error.html", status=status, message=message), status)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        if request.blueprint in SIGNED_IN_BLUEPRINTS and not current_user.is_authenticated:
            return login_manager.unauthorized()  # the session ended: sign in again, as a whole page
        return error_response(400, "Your session expired or the form was stale. Please reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        description = error.description if error.description and error.code not in MESSAGES else None
        response = error_response(error.code, description)
        # Keep what the error says about itself beyond its body: Allow on a 405, Retry-After on a 429.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(500, "Something went wrong on our side. It has been logged; please try again.")
