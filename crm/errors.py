"""Error pages: HTML for pages, JSON for /api/."""
from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import db

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


def error_response(status: int, message: str | None = None):
    message = message or MESSAGES.get(status, "Something went wrong.")
    if wants_json():
        return jsonify(error=message), status
    return render_template("error.html", status=status, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return error_response(400, "Your session expired or the form was stale. Please reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        description = error.description if error.description and error.code not in MESSAGES else None
        return error_response(error.code, description)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(500, "Something went wrong on our side. It has been logged; please try again.")
