"""Configuration read from the environment, with safe defaults for local use."""

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(instance_path: str) -> str:
    """Return DATABASE_URL normalised for SQLAlchemy, or the local SQLite file."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{Path(instance_path) / 'crm.db'}"
    # Hosting platforms hand out postgres:// URLs; psycopg 3 is the driver we ship.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def secret_key(instance_path: str) -> str:
    """Return SECRET_KEY from the environment, or one generated once into the instance folder."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def from_environment(instance_path: str) -> dict:
    """Build the app configuration from environment variables."""
    return {
        "SECRET_KEY": secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url(instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE"),
        # A sign-in lasts this long at most, on the server (user_sessions) and in the cookie.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=float(os.environ.get("SESSION_LIFETIME_HOURS", "12"))),
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": int(os.environ.get("LOGIN_MAX_FAILURES_PER_ACCOUNT", "5")),
        "LOGIN_MAX_FAILURES_PER_ADDRESS": int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS", "20")),
        "LOGIN_THROTTLE_SECONDS": int(os.environ.get("LOGIN_THROTTLE_SECONDS", "900")),
        "PASSWORD_RESET_MAX_PER_HOUR": int(os.environ.get("PASSWORD_RESET_MAX_PER_HOUR", "3")),
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "PHONE_DEFAULT_REGION": os.environ.get("PHONE_DEFAULT_REGION", "GB"),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS"),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Stay & Celebrate <hello@stayandcelebrate.example>"),
        "MAIL_TIMEOUT": int(os.environ.get("MAIL_TIMEOUT", "10")),
        # Each app process sends queued mail from a background thread, so no request waits for SMTP.
        "MAIL_IN_BACKGROUND": _bool("MAIL_IN_BACKGROUND", True),
        # The pid of the deliverer process beside gunicorn's workers, set by crm/serving.py: while it runs, it
        # sends the mail and the workers start no deliverer thread.
        "MAIL_DELIVERER_PROCESS": int(os.environ.get("MAIL_DELIVERER_PROCESS") or 0),
        "MAIL_POLL_SECONDS": float(os.environ.get("MAIL_POLL_SECONDS", "15")),
        # Woken by a commit, the deliverer waits this long so that mail queued meanwhile goes in the same batch.
        "MAIL_GATHER_SECONDS": float(os.environ.get("MAIL_GATHER_SECONDS", "0.5")),
        # A crashed deliverer's claim lapses within this; with the poll, its mail goes out within a minute.
        "MAIL_CLAIM_SECONDS": int(os.environ.get("MAIL_CLAIM_SECONDS", "45")),
        # SQLite: each app process copies the write-ahead log back into the database file from a background
        # thread every this many seconds, so no request waits for it (see crm.database.Checkpointer).
        "SQLITE_CHECKPOINT_IN_BACKGROUND": _bool("SQLITE_CHECKPOINT_IN_BACKGROUND", True),
        "SQLITE_CHECKPOINT_SECONDS": float(os.environ.get("SQLITE_CHECKPOINT_SECONDS", "0.5")),
        # Each app process freezes its start-up objects out of the garbage collector's full collections.
        "GC_FREEZE": _bool("GC_FREEZE", True),
        "ACK_MAX_PER_HOUR": int(os.environ.get("ACK_MAX_PER_HOUR", "3")),
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", "").rstrip("/"),
        # The Stripe price id of each plan, keyed tier_cycle: STRIPE_PRICE_GOLD_ANNUAL and so on.
        "STRIPE_PRICES": {
            f"{tier}_{cycle}": os.environ.get(f"STRIPE_PRICE_{tier.upper()}_{cycle.upper()}", "")
            for tier in ("bronze", "silver", "gold")
            for cycle in ("annual", "monthly")
        },
        "SPAM_MIN_SECONDS": int(os.environ.get("SPAM_MIN_SECONDS", "3")),
        "SPAM_MAX_PER_HOUR": int(os.environ.get("SPAM_MAX_PER_HOUR", "5")),
        "SPAM_MAX_PER_IP_HOUR": int(os.environ.get("SPAM_MAX_PER_IP_HOUR", "60")),
        "CRM_SYNC_FAIL": os.environ.get("CRM_SYNC_FAIL", ""),
        # How many reverse proxies stand in front of the app (0: none, so X-Forwarded-* headers are ignored).
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
    }
