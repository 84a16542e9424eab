"""Failed sign-ins are throttled per account and per address, in the database, with equal timing."""

import statistics
import time

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from crm import create_app
from crm.extensions import db
from crm.models import ThrottleEvent

from .builders import PASSWORD, make_user


@pytest.fixture
def app_config(app_config):
    return app_config | {
        "LOGIN_THROTTLE_SECONDS": 600,
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": 5,
        "LOGIN_MAX_FAILURES_PER_ADDRESS": 10,
    }


def sign_in(client, email, password=PASSWORD, address="127.0.0.1"):
    return client.post("/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address})


def test_200_wrong_passwords_are_throttled_and_so_is_the_right_one_until_the_window_passes(app, client, owner):
    statuses = [sign_in(client, owner.email, f"guess number {n}").status_code for n in range(200)]
    assert statuses[:5] == [422] * 5
    assert set(statuses[5:]) == {429}

    refused = sign_in(client, owner.email)
    assert refused.status_code == 429
    assert b"Too many failed sign-ins" in refused.data and b"reset your password" in refused.data
    assert 1 <= int(refused.headers["Retry-After"]) <= 600
    assert client.get("/owner-dashboard").status_code == 302

    # The window, shortened by its setting, passes: the right password works again.
    app.config["LOGIN_THROTTLE_SECONDS"] = 1
    time.sleep(1.2)
    assert sign_in(client, owner.email).headers["Location"] == "/owner-dashboard"


def test_throttled_attempts_are_not_counted_again(client, owner):
    for n in range(50):
        sign_in(client, owner.email, f"guess {n}")
    kept = db.session.scalar(
        select(func.count()).select_from(ThrottleEvent).where(ThrottleEvent.kind == "sign_in_account")
    )
    assert kept == 5


def test_an_account_is_throttled_from_every_address(client, owner):
    for n in range(5):
        sign_in(client, owner.email, "wrong password", address=f"198.51.100.{n}")
    assert sign_in(client, owner.email, address="203.0.113.50").status_code == 429


def test_an_address_is_throttled_across_accounts(client, app):
    accounts = [make_user("owner") for _ in range(5)]
    for n in range(10):
        email = accounts[n % 5].email if n % 2 else f"nobody{n}@example.com"
        assert sign_in(client, email, "wrong password", address="192.0.2.7").status_code == 422
    fresh = make_user("owner")
    assert sign_in(client, fresh.email, address="192.0.2.7").status_code == 429
    other_address = app.test_client()
    assert sign_in(other_address, fresh.email, address="192.0.2.8").status_code == 302


def test_unknown_addresses_are_throttled_like_accounts(client):
    statuses = [sign_in(client, "nobody@example.com", "wrong password").status_code for _ in range(6)]
    assert statuses == [422] * 5 + [429]


def test_a_successful_sign_in_clears_the_accounts_failures(client, auth, owner):
    for _ in range(4):
        sign_in(client, owner.email, "wrong password")
    assert sign_in(client, owner.email).status_code == 302
    auth.logout()
    for _ in range(4):
        assert sign_in(client, owner.email, "wrong password").status_code == 422
    assert sign_in(client, owner.email).status_code == 302


def test_the_throttle_is_shared_by_every_worker(app, app_config, owner):
    """Two app instances on one database (two workers, or two servers) see the same failures."""
    other_worker = create_app(app_config)
    with other_worker.app_context():
        second = other_worker.test_client()
        for _ in range(5):
            assert sign_in(second, owner.email, "wrong password").status_code == 422
        db.session.remove()
    assert sign_in(app.test_client(), owner.email).status_code == 429


def test_nothing_typed_is_stored(client, owner):
    sign_in(client, "Someone.Typed@Example.com", "wrong password", address="203.0.113.9")
    keys = db.session.scalars(select(ThrottleEvent.key)).all()
    assert len(keys) == 2 and all(len(k) == 64 and "example" not in k and "203" not in k for k in keys)


def test_the_limits_are_settings(monkeypatch, tmp_path):
    from crm import config

    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_ACCOUNT", "7")
    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_ADDRESS", "40")
    monkeypatch.setenv("LOGIN_THROTTLE_SECONDS", "600")
    settings = config.from_environment(str(tmp_path))
    assert (
        settings["LOGIN_MAX_FAILURES_PER_ACCOUNT"],
        settings["LOGIN_MAX_FAILURES_PER_ADDRESS"],
        settings["LOGIN_THROTTLE_SECONDS"],
    ) == (7, 40, 600)


# --- Known and unknown e-mails take the same time ---------------------------------------------------


@pytest.fixture
def verify_calls(monkeypatch):
    """Count Argon2 verifications (the library's, not ours) while the real ones still run."""
    calls = []
    real = PasswordHasher.verify

    def counting(self, hash, password):
        calls.append(hash)
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return calls


@pytest.mark.parametrize("who", ["known", "unknown", "invited", "deactivated"])
def test_every_wrong_sign_in_pays_for_one_argon2_verify(client, owner, verify_calls, who):
    from crm.models import User, utcnow

    email = {"known": owner.email, "unknown": "nobody@example.com"}.get(who, f"{who}@example.com")
    if who == "invited":
        db.session.add(User(email=email, role="admin", password_hash="", first_name="I", last_name="Nvited"))
    if who == "deactivated":
        make_user("admin", email=email).deactivated_at = utcnow()
    db.session.commit()
    response = sign_in(client, email, "wrong password" if who == "known" else PASSWORD)
    assert response.status_code == 422 and b"do not match an account" in response.data
    assert len(verify_calls) == 1 and verify_calls[0].startswith("$argon2id$")


def test_known_and_unknown_emails_answer_in_comparable_time(client, owner):
    """Neither path is more than 5x faster than the other (a ratio, never an absolute time)."""
    client.application.config.update(LOGIN_MAX_FAILURES_PER_ACCOUNT=1000, LOGIN_MAX_FAILURES_PER_ADDRESS=1000)

    def median_time(email: str) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            assert sign_in(client, email, "wrong password").status_code == 422
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    sign_in(client, "warm-up@example.com", "wrong password")  # the dummy hash is made once
    known, unknown = median_time(owner.email), median_time("nobody@example.com")
    assert max(known, unknown) / min(known, unknown) < 5
