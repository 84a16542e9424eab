"""The CRM and listing platform: the application factory."""

import gc
import logging
import os

from flask import Flask, g
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config
from .extensions import csrf, db, login_manager, migrate


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the app."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH") or os.path.join(root, "instance"),
        instance_relative_config=True,
        template_folder=os.path.join(root, "templates"),
        static_folder=os.path.join(root, "static"),
    )
    from .requests import CleanRequest, IdConverter

    app.request_class = CleanRequest
    from .auth.sessions import SessionInterface

    app.session_interface = SessionInterface()
    app.url_map.converters["int"] = IdConverter
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(config.from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)

    trust_proxies(app)
    register_extensions(app)
    register_blueprints(app)
    register_template_helpers(app)

    from .errors import register_error_handlers

    register_error_handlers(app)

    from .security import register_security_headers

    register_security_headers(app)

    from .cli import register_cli

    register_cli(app)

    from .mail import register_deliverer

    register_deliverer(app)

    if not app.debug and not app.testing:
        app.logger.setLevel(logging.INFO)
    if app.config["GC_FREEZE"] and not app.testing:
        freeze_start_up_objects()
    return app


def freeze_start_up_objects() -> None:
    """Leave what exists once the app is built out of the garbage collector's full collections.

    The modules, the app and its metadata (about 130,000 objects) live as long as the process, yet every
    full collection walked them all: 90-110 ms on the large data set, once in about a hundred requests,
    stalling whichever request triggered it. Frozen, they are never walked again; what requests create is
    collected as before. Start-up's own garbage frozen with them is made once, so it cannot grow.
    """
    gc.freeze()


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client's address and scheme from their X-Forwarded-* headers.

    Only the entries those proxies appended are trusted, so a client cannot pose as another address (and
    slip past the per-address limits) by sending the headers itself.
    """
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_extensions(app: Flask) -> None:
    from .database import configure_engine, only_read, wants_write_lock

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    with app.app_context():
        checkpointer = configure_engine(db.engine)
    if checkpointer is not None:
        checkpointer.interval = app.config["SQLITE_CHECKPOINT_SECONDS"]
        app.extensions["sqlite_checkpointer"] = checkpointer
        if app.config["SQLITE_CHECKPOINT_IN_BACKGROUND"]:
            app.before_request(checkpointer.ensure_started)

    @app.teardown_request
    def end_unit_of_work(error):
        # The request is the unit of work: whatever it left open (even a read after its commit,
        # which on SQLite holds the write lock in a POST) ends with it.
        session = db.session()
        if error is None and not wants_write_lock() and only_read(session):
            # A request that only read ends with COMMIT, which undoes nothing, rather than ROLLBACK: psycopg
            # forgets its prepared statements at every ROLLBACK, so PostgreSQL planned each statement of
            # every page afresh (3 ms to plan the data version's five look-ups, 0.5 ms to run them).
            try:
                session.commit()
                return
            except Exception:  # the connection may be gone; the rollback below tidies up
                pass
        session.rollback()

    @app.before_request
    def forget_the_previous_request():
        # Flask-Login caches the user and Flask-WTF the CSRF token on g, and g outlives a request run
        # inside an enclosing app context (as in the tests): each request reads both from its own cookie.
        g.pop("_login_user", None)
        g.pop(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)

    from . import auth  # noqa: F401  registers the user loader


def register_blueprints(app: Flask) -> None:
    from .admin import (
        admins,  # noqa: F401  adds the Admins pages to the admin blueprint
        settings_page,  # noqa: F401  adds the Settings page to the admin blueprint
        system,  # noqa: F401  adds the System page to the admin blueprint
    )
    from .admin import memberships as admin_memberships  # noqa: F401  adds the membership pages to the admin blueprint
    from .admin.views import bp as admin_bp
    from .api.reports import bp as api_reports_bp
    from .api.views import bp as api_bp
    from .auth.views import bp as auth_bp
    from .health import bp as health_bp
    from .memberships.webhook import bp as webhooks_bp
    from .owner import (
        insights,  # noqa: F401  adds the insights page to the owner blueprint
        membership,  # noqa: F401  adds the membership pages to the owner blueprint
    )
    from .owner.views import bp as owner_bp
    from .public.views import bp as public_bp
    from .reports.views import bp as reports_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(owner_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(api_reports_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(health_bp)


def register_template_helpers(app: Flask) -> None:
    from . import formatting
    from .htmx import url_with
    from .urls import url_for

    app.jinja_env.globals["url_with"] = url_with
    app.jinja_env.globals["url_for"] = url_for
    app.jinja_env.filters["money"] = formatting.money
    app.jinja_env.filters["datetime"] = formatting.datetime_format
    app.jinja_env.filters["date"] = formatting.date_format
    app.jinja_env.filters["ago"] = formatting.ago
    app.jinja_env.filters["label"] = formatting.label
    app.jinja_env.filters["number"] = formatting.number
    app.jinja_env.filters["oneline"] = formatting.one_line
