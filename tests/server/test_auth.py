"""The admin token (env, generated and stored hashed) and the console's signed session cookie."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from postcall.errors import ConfigError
from postcall.server.auth import (
    TOKEN_ENV,
    TOKEN_HASH_FILE,
    AdminAuth,
    Session,
    SessionCodec,
    ensure_admin_token,
    hash_token,
    load_admin_auth,
)


def test_first_start_generates_a_token_once_and_stores_only_its_hash(tmp_path: Path) -> None:
    token = ensure_admin_token(tmp_path, environ={})
    assert token is not None and len(token) >= 40
    stored = (tmp_path / TOKEN_HASH_FILE).read_text().strip()
    assert stored == hash_token(token)
    assert token not in (tmp_path / TOKEN_HASH_FILE).read_text()
    assert stat.S_IMODE(os.stat(tmp_path / TOKEN_HASH_FILE).st_mode) == 0o600
    # Printed once: the next start finds the hash and returns nothing.
    assert ensure_admin_token(tmp_path, environ={}) is None
    auth = load_admin_auth(tmp_path, environ={})
    assert auth.source == "file"
    assert auth.generated_token is None
    assert auth.verify(token)
    assert not auth.verify(token + "x")
    assert not auth.verify("")
    assert not auth.verify(None)


def test_load_reports_the_token_it_generated(tmp_path: Path) -> None:
    auth = load_admin_auth(tmp_path, environ={})
    assert auth.generated_token is not None
    assert auth.verify(auth.generated_token)


def test_the_environment_token_wins_and_nothing_is_written(tmp_path: Path) -> None:
    env = {TOKEN_ENV: "an-environment-token-of-some-length"}
    assert ensure_admin_token(tmp_path, environ=env) is None
    assert not (tmp_path / TOKEN_HASH_FILE).exists()
    auth = load_admin_auth(tmp_path, environ=env)
    assert auth.source == "env"
    assert auth.verify("an-environment-token-of-some-length")
    assert not auth.verify("an-environment-token-of-some-lengtH")


def test_a_short_environment_token_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"POSTCALL_ADMIN_TOKEN is too short \(5 characters\)"):
        load_admin_auth(tmp_path, environ={TOKEN_ENV: "short"})


def test_a_corrupt_hash_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / TOKEN_HASH_FILE).write_text("not a digest\n")
    with pytest.raises(ConfigError, match="does not hold a SHA-256 hex digest"):
        load_admin_auth(tmp_path, environ={})


def _codec(tmp_path: Path, now: float = 1_000_000.0) -> tuple[SessionCodec, list[float]]:
    clock = [now]
    auth = load_admin_auth(tmp_path, environ={TOKEN_ENV: "x" * 32})
    return SessionCodec(auth, max_age=3600, now=lambda: clock[0]), clock


def test_a_session_round_trips_and_expires(tmp_path: Path) -> None:
    codec, clock = _codec(tmp_path)
    session = codec.new_session().logged_in(int(clock[0]), codec.auth.fingerprint)
    cookie = codec.encode(session)
    assert codec.decode(cookie) == session
    clock[0] += 3601
    assert codec.decode(cookie) is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c[:-2] + ("AA" if c[-2:] != "AA" else "BB"),  # signature changed
        lambda c: "e30" + c[3:],  # payload changed
        lambda c: c.replace(".", ""),  # no separator
        lambda c: c + ".x",  # two separators
        lambda c: "",
        lambda c: "%%%.%%%",  # not base64
        lambda c: "x" * 5000,  # oversized
    ],
)
def test_a_tampered_cookie_is_no_session(tmp_path: Path, tamper: object) -> None:
    codec, clock = _codec(tmp_path)
    cookie = codec.encode(codec.new_session().logged_in(int(clock[0]), codec.auth.fingerprint))
    assert callable(tamper)
    assert codec.decode(tamper(cookie)) is None


def test_a_session_signed_under_another_key_is_refused(tmp_path: Path) -> None:
    codec, clock = _codec(tmp_path / "a")
    other, _ = _codec(tmp_path / "b")
    cookie = other.encode(other.new_session())
    assert codec.decode(cookie) is None


def test_changing_the_token_logs_sessions_out(tmp_path: Path) -> None:
    codec, clock = _codec(tmp_path)
    cookie = codec.encode(codec.new_session().logged_in(int(clock[0]), codec.auth.fingerprint))
    rotated = AdminAuth(hash_token("y" * 32), codec.auth.session_key, "env")
    assert SessionCodec(rotated, now=lambda: clock[0]).decode(cookie) is None


def test_csrf_tokens_compare_exactly_and_change_at_login(tmp_path: Path) -> None:
    session = Session.anonymous(10)
    assert session.csrf_matches(session.csrf)
    assert not session.csrf_matches(session.csrf + "x")
    assert not session.csrf_matches("")
    assert not session.csrf_matches(None)
    assert not session.csrf_matches("é" * 10)
    logged_in = session.logged_in(11, "fp")
    assert logged_in.authenticated and logged_in.csrf != session.csrf
