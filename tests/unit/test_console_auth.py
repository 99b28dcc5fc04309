"""Console sign-in primitives: password hashes, users, signed sessions, CSRF, lockout."""

from __future__ import annotations

import pytest

from gateway.console.auth import (
    Lockout,
    Role,
    SessionSigner,
    UserEntryError,
    check_hash,
    hash_password,
    parse_users,
    verify_password,
)

SECRET = b"0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def encoded() -> str:
    return hash_password("mật khẩu đủ dài")


def test_a_hash_verifies_its_password_only(encoded: str) -> None:
    assert verify_password("mật khẩu đủ dài", encoded)
    assert not verify_password("mật khẩu đủ dai", encoded)
    assert not verify_password("", encoded)


def test_each_hash_has_its_own_salt() -> None:
    first, second = hash_password("same password"), hash_password("same password")
    assert first != second
    assert first.split("$")[:4] == ["scrypt", "16384", "8", "1"]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "plain",
        "bcrypt$1$2$3$4$5",
        "scrypt$1000$8$1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        "scrypt$16384$8$1$!!$aGFzaGhhc2hoYXNoaGFzaA",
        "scrypt$16384$8$1$c2FsdA$aGFzaA",
    ],
)
def test_malformed_hashes_are_refused(bad: str) -> None:
    with pytest.raises(UserEntryError):
        check_hash(bad)
    assert not verify_password("anything", bad)


def test_users_parse_with_roles_and_queue_members(encoded: str) -> None:
    users = parse_users(
        (f"lan:operator:{encoded}", f"minh:supervisor:{encoded}"), {"lan": "Desk 1"}
    )
    assert users["lan"].role is Role.OPERATOR and users["lan"].member == "Desk 1"
    assert users["minh"].role is Role.SUPERVISOR and users["minh"].member is None


@pytest.mark.parametrize(
    ("entries", "members", "message"),
    [
        (("lan:admin:{h}",), {}, "role"),
        (("lan:operator:{h}", "lan:supervisor:{h}"), {}, "twice"),
        (("l an:operator:{h}",), {}, "name"),
        (("lan:operator:nothash",), {}, "hash"),
        (("lan:operator:{h}",), {"minh": "Desk 2"}, "not in users"),
    ],
)
def test_bad_user_entries_name_the_problem(
    encoded: str, entries: tuple[str, ...], members: dict[str, str], message: str
) -> None:
    with pytest.raises(UserEntryError, match=message):
        parse_users(tuple(e.format(h=encoded) for e in entries), members)


def test_a_session_cookie_round_trips_and_expires() -> None:
    signer = SessionSigner(SECRET, ttl=600)
    session, cookie = signer.issue("lan", Role.OPERATOR, now=1000.0)
    assert signer.verify(cookie, now=1500.0) == session
    assert signer.verify(cookie, now=1600.0) is None  # past its expiry


def test_a_tampered_or_foreign_cookie_is_refused() -> None:
    signer = SessionSigner(SECRET, ttl=600)
    _session, cookie = signer.issue("lan", Role.OPERATOR, now=1000.0)
    payload, _, signature = cookie.rpartition(".")
    parts = payload.split(".")
    parts[1] = Role.SUPERVISOR.value  # promote oneself
    assert signer.verify(".".join(parts) + "." + signature, now=1001.0) is None
    other = SessionSigner(b"another secret, as long as needed", ttl=600)
    assert other.verify(cookie, now=1001.0) is None
    assert signer.verify("garbage", now=1001.0) is None
    assert signer.verify(None, now=1001.0) is None


def test_signing_out_revokes_that_session_only() -> None:
    signer = SessionSigner(SECRET, ttl=600)
    first, first_cookie = signer.issue("lan", Role.OPERATOR, now=1000.0)
    _second, second_cookie = signer.issue("lan", Role.OPERATOR, now=1000.0)
    signer.revoke(first, now=1001.0)
    assert signer.verify(first_cookie, now=1002.0) is None
    assert signer.verify(second_cookie, now=1002.0) is not None


def test_csrf_tokens_belong_to_one_session() -> None:
    signer = SessionSigner(SECRET, ttl=600)
    first, _ = signer.issue("lan", Role.OPERATOR, now=1000.0)
    second, _ = signer.issue("lan", Role.OPERATOR, now=1000.0)
    token = signer.csrf_token(first)
    assert signer.csrf_ok(first, token)
    assert not signer.csrf_ok(second, token)
    assert not signer.csrf_ok(first, None)
    assert not signer.csrf_ok(first, "")


def test_login_tokens_are_bound_to_the_pre_session_cookie() -> None:
    signer = SessionSigner(SECRET, ttl=600)
    nonce = "a-random-nonce-of-some-length"
    assert signer.login_ok(nonce, signer.login_token(nonce))
    assert not signer.login_ok("another-nonce-of-some-length", signer.login_token(nonce))
    assert not signer.login_ok(None, signer.login_token(nonce))


def test_lockout_after_repeated_failures_then_it_runs_out() -> None:
    lockout = Lockout(after=3, seconds=900.0)
    assert not lockout.failed("lan", now=0.0)
    assert not lockout.failed("LAN", now=1.0)  # one name whatever the case
    assert lockout.failed("lan", now=2.0)
    assert lockout.locked_for("lan", now=3.0) == pytest.approx(899.0)
    assert lockout.locked_for("minh", now=3.0) == 0.0
    assert lockout.locked_for("lan", now=903.0) == 0.0
    assert not lockout.failed("lan", now=904.0)  # a fresh count after the lock


def test_a_success_clears_the_count() -> None:
    lockout = Lockout(after=2, seconds=60.0)
    lockout.failed("lan", now=0.0)
    lockout.succeeded("lan")
    assert not lockout.failed("lan", now=1.0)


def test_unknown_names_are_counted_too() -> None:
    lockout = Lockout(after=2, seconds=60.0)
    lockout.failed("nobody", now=0.0)
    assert lockout.failed("nobody", now=1.0)
