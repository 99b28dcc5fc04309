"""Who may use the console, and how they prove it.

- **Passwords** are kept as scrypt hashes (``scrypt$<n>$<r>$<p>$<salt>$<hash>``, base64),
  each with its own random salt; ``statusgw console hash-password`` makes one. A sign-in with
  an unknown name still spends one hash computation, so timing does not tell names apart.
- **Sessions** are signed cookies: name, role, expiry and a random id, under an HMAC of the
  session secret. Nothing is stored per session except the ids of sessions signed out early.
  The cookie is HttpOnly, SameSite=Strict and scoped to the console's path.
- **CSRF**: every form and every state-changing request carries a token derived from the
  session id (HMAC); a request without the right one is refused. Sign-in forms carry a token
  bound to a pre-session cookie the same way.
- **Lockout**: ``after`` failed sign-ins in a row on one name lock it for ``minutes``; the
  count is kept for unknown names too (so a locked answer does not tell which names exist).

Everything here is pure: the clock comes in as ``now`` (seconds, monotonic or wall).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
MAX_PASSWORD_CHARS = 256
MAX_NAME_CHARS = 64
_MAX_SCRYPT_N = 2**20
_LOCKOUT_NAMES = 10_000  # names whose failures are remembered at most


class Role(Enum):
    OPERATOR = "operator"  # takes escalated calls
    SUPERVISOR = "supervisor"  # also watches the queue, the operators and the figures

    @property
    def label(self) -> str:
        return "Giám sát viên" if self is Role.SUPERVISOR else "Điện thoại viên"


class UserEntryError(ValueError):
    """A ``[console] users`` entry that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    name: str  # the sign-in name
    role: Role
    password_hash: str = ""
    member: str | None = None  # their phone in the operators queue (member name or interface)


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(
        ("scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest))
    )


def verify_password(password: str, encoded: str) -> bool:
    """True if ``password`` matches ``encoded`` (compared in constant time)."""
    try:
        n, r, p, salt, expected = _parse_hash(encoded)
    except UserEntryError:
        return False
    if len(password) > MAX_PASSWORD_CHARS:
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p), expected)


def check_hash(encoded: str) -> None:
    """Raise :class:`UserEntryError` unless ``encoded`` is a hash this module makes."""
    _parse_hash(encoded)


def _parse_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise UserEntryError("the password hash must look like scrypt$n$r$p$salt$hash")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        raise UserEntryError("the password hash has a malformed part") from None
    if not (2 <= n <= _MAX_SCRYPT_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise UserEntryError("the password hash's scrypt parameters are out of range")
    if len(salt) < 8 or len(digest) < 16:
        raise UserEntryError("the password hash's salt or digest is too short")
    return n, r, p, salt, digest


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=HASH_BYTES
    )


def parse_user(entry: str, members: Mapping[str, str]) -> ConsoleUser:
    """``name:role:hash`` (role ``operator`` or ``supervisor``) into a :class:`ConsoleUser`."""
    name, _, rest = entry.partition(":")
    role_text, _, password_hash = rest.partition(":")
    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS or not all(c.isalnum() or c in "._-" for c in name):
        raise UserEntryError(
            f"the name {name!r} must be 1-{MAX_NAME_CHARS} letters, digits, '.', '_' or '-'"
        )
    try:
        role = Role(role_text.strip())
    except ValueError:
        raise UserEntryError(f"{name}: the role must be operator or supervisor") from None
    check_hash(password_hash.strip())
    return ConsoleUser(name, role, password_hash.strip(), members.get(name) or None)


def parse_users(entries: tuple[str, ...], members: Mapping[str, str]) -> dict[str, ConsoleUser]:
    users: dict[str, ConsoleUser] = {}
    for index, entry in enumerate(entries):
        try:
            user = parse_user(entry, members)
        except UserEntryError as exc:
            raise UserEntryError(f"users[{index}]: {exc}") from None
        if user.name in users:
            raise UserEntryError(f"users[{index}]: {user.name} appears twice")
        users[user.name] = user
    unknown = sorted(set(members) - set(users))
    if unknown:
        raise UserEntryError(f"members names {unknown[0]!r}, who is not in users")
    return users


# --- sessions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Session:
    user: str
    role: Role
    expires: int  # wall-clock seconds
    sid: str  # random; names the session for CSRF tokens and sign-out


class SessionSigner:
    """Issues and checks signed session cookies and the CSRF tokens bound to them."""

    def __init__(self, secret: bytes, ttl: int) -> None:
        if len(secret) < 16:
            raise ValueError("the session secret needs at least 16 bytes")
        self._key = hashlib.sha256(b"statusgw console session\x00" + secret).digest()
        self._ttl = ttl
        self._revoked: dict[str, int] = {}  # sid -> its expiry

    def issue(self, user: str, role: Role, now: float) -> tuple[Session, str]:
        session = Session(user, role, int(now) + self._ttl, secrets.token_urlsafe(16))
        payload = ".".join(
            (_b64(user.encode()), session.role.value, str(session.expires), session.sid)
        )
        return session, f"{payload}.{self._sign('session', payload)}"

    def verify(self, cookie: str | None, now: float) -> Session | None:
        if not cookie or len(cookie) > 512:
            return None
        payload, _, signature = cookie.rpartition(".")
        if not payload or not hmac.compare_digest(signature, self._sign("session", payload)):
            return None
        try:
            user_b64, role_text, expires_text, sid = payload.split(".")
            session = Session(_unb64(user_b64).decode(), Role(role_text), int(expires_text), sid)
        except ValueError:
            return None
        if session.expires <= now or sid in self._revoked:
            return None
        return session

    def revoke(self, session: Session, now: float) -> None:
        self._revoked[session.sid] = session.expires
        for sid, expires in list(self._revoked.items()):
            if expires <= now:
                del self._revoked[sid]

    def csrf_token(self, session: Session) -> str:
        return self._sign("csrf", session.sid)

    def csrf_ok(self, session: Session, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(presented or "", self.csrf_token(session))

    def login_token(self, nonce: str) -> str:
        """The sign-in form's token, bound to the pre-session cookie ``nonce``."""
        return self._sign("login", nonce)

    def login_ok(self, nonce: str | None, presented: str | None) -> bool:
        if not nonce or not presented or len(nonce) > 64:
            return False
        return hmac.compare_digest(presented, self.login_token(nonce))

    def _sign(self, purpose: str, value: str) -> str:
        mac = hmac.new(self._key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()
        return _b64(mac)


# --- lockout -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Failures:
    count: int = 0
    locked_until: float = 0.0


class Lockout:
    """Consecutive failed sign-ins per name; ``after`` of them lock the name for a while."""

    def __init__(self, after: int, seconds: float) -> None:
        self._after = after
        self._seconds = seconds
        self._names: OrderedDict[str, _Failures] = OrderedDict()

    def locked_for(self, name: str, now: float) -> float:
        """Seconds the name stays locked (0: it may try)."""
        entry = self._names.get(name.casefold())
        if entry is None or entry.locked_until <= now:
            return 0.0
        return entry.locked_until - now

    def failed(self, name: str, now: float) -> bool:
        """Count a failure; True if the name is now locked."""
        key = name.casefold()[:MAX_NAME_CHARS]
        entry = self._names.pop(key, None) or _Failures()
        if entry.locked_until and entry.locked_until <= now:
            entry = _Failures()  # the lock ran out: a fresh count
        entry.count += 1
        if entry.count >= self._after:
            entry.locked_until = now + self._seconds
        self._names[key] = entry
        while len(self._names) > _LOCKOUT_NAMES:
            self._names.popitem(last=False)
        return entry.locked_until > now

    def succeeded(self, name: str) -> None:
        self._names.pop(name.casefold(), None)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or not all(c.isalnum() or c in "-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
