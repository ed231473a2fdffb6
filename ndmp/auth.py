"""Who may open an NDMP session, and the two ways a DMA proves it: text and MD5 challenge.

Users have a role (admin or backup, the seed's cluster roles for NDMP) and an
*NDMP-specific password* derived from their login password, as in the seed's
"Generate an NDMP-specific password": the DMA never holds the login password,
the NDMP password is deterministic (printing it twice gives the same text) and
changes when the login password changes.  ``generate_password`` is that
derivation: HMAC-SHA256 keyed with a per-node secret, so two nodes give the
same user different NDMP passwords and the password cannot be recomputed
without the node's secret.

MD5 authentication is a challenge/response: CONFIG_GET_AUTH_ATTR(MD5) hands
out 64 fresh random bytes, CONNECT_CLIENT_AUTH answers with the NDMP v4 digest
of password and challenge (:func:`md5_digest`, computed exactly as NDMJOB
does).  A challenge is good for one attempt only: a :class:`Login` forgets it
on use and when a new one is issued, so a captured digest cannot be replayed.
"""
from __future__ import annotations

import enum
import hashlib
import hmac
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from .constants import AuthType, ErrorCode

__all__ = [
    "CHALLENGE_SIZE",
    "MAX_MD5_PASSWORD",
    "AuthFailed",
    "AuthPolicy",
    "Authenticator",
    "Login",
    "Role",
    "User",
    "generate_password",
    "md5_digest",
]

CHALLENGE_SIZE = 64          # ndmp_auth_attr.challenge: opaque[64]
MAX_MD5_PASSWORD = 32        # the digest buffer holds the password twice in 128 bytes with the challenge
PASSWORD_LENGTH = 16         # as the seed's example "jWZiNt57huPOoD8d"
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class Role(enum.Enum):
    """The roles that may use NDMP (the seed: "the user role is admin or backup")."""

    ADMIN = "admin"
    BACKUP = "backup"


@dataclass(frozen=True)
class User:
    """An NDMP user: ``password`` is the NDMP-specific password (what the DMA sends)."""

    name: str
    role: Role
    password: str = field(repr=False)

    @classmethod
    def from_login(cls, name: str, role: Role | str, login_password: str, node_secret: bytes | str) -> User:
        """The user whose NDMP password is generated from ``login_password``."""
        return cls(name, Role(role), generate_password(name, login_password, node_secret))


def _bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)


def generate_password(user: str, login_password: str, node_secret: bytes | str) -> str:
    """The NDMP-specific password of ``user``: 16 letters and digits.

    HMAC-SHA256 keyed with the node's secret over the length-prefixed user name
    and login password (so ``("ab", "c")`` and ``("a", "bc")`` differ), read as
    a big number and written in base 62."""
    if not node_secret:
        raise ValueError("the node secret is empty; NDMP passwords need a per-node secret")
    name, login = _bytes(user), _bytes(login_password)
    message = len(name).to_bytes(4, "big") + name + len(login).to_bytes(4, "big") + login
    number = int.from_bytes(hmac.new(_bytes(node_secret), message, hashlib.sha256).digest(), "big")
    chars = []
    for _ in range(PASSWORD_LENGTH):             # 256 bits hold 42 base-62 digits: no visible bias in 16
        number, digit = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def md5_digest(password: bytes | str, challenge: bytes) -> bytes:
    """The NDMP v4 MD5 digest as NDMJOB computes it: MD5 of a zeroed 128-byte buffer with
    the password (length L <= 32) at offset 0 and at 128-L, and the challenge at 64-L."""
    pw = _bytes(password)
    if len(pw) > MAX_MD5_PASSWORD:
        raise ValueError(f"an MD5-authenticated password has at most {MAX_MD5_PASSWORD} bytes, not {len(pw)}")
    if len(challenge) != CHALLENGE_SIZE:
        raise ValueError(f"an MD5 challenge has {CHALLENGE_SIZE} bytes, not {len(challenge)}")
    n = len(pw)
    buf = bytearray(128)
    buf[0:n] = pw
    buf[64 - n:128 - n] = challenge
    buf[128 - n:128] = pw
    return hashlib.md5(bytes(buf)).digest()


@dataclass(frozen=True)
class AuthPolicy:
    """Which methods are on.  Both by default, as node-scoped NDMP mode starts."""

    text: bool = True
    md5: bool = True

    @property
    def enabled(self) -> list[AuthType]:
        """The auth types CONFIG_GET_SERVER_INFO advertises, in the spec's order."""
        return [t for t, on in ((AuthType.NDMP_AUTH_TEXT, self.text), (AuthType.NDMP_AUTH_MD5, self.md5)) if on]

    def allows(self, auth_type: int) -> bool:
        return auth_type in self.enabled


class AuthFailed(Exception):
    """An authentication attempt that did not succeed; ``error`` goes in the reply body."""

    def __init__(self, reason: str, error: ErrorCode = ErrorCode.NDMP_NOT_AUTHORIZED_ERR):
        super().__init__(reason)
        self.reason = reason
        self.error = error


class Authenticator:
    """The users and the policy of one server; hands each session a :class:`Login`."""

    def __init__(self, users: Iterable[User] | Mapping[str, User] = (), policy: AuthPolicy | None = None,
                 random_bytes: Callable[[int], bytes] = os.urandom):
        values = users.values() if isinstance(users, Mapping) else users
        self.users: dict[str, User] = {}
        for user in values:
            if user.name in self.users:
                raise ValueError(f"NDMP user {user.name!r} is defined twice")
            self.users[user.name] = user
        self.policy = policy if policy is not None else AuthPolicy()
        self.random_bytes = random_bytes

    def login(self) -> Login:
        """The authentication state of one new session."""
        return Login(self)


class Login:
    """One session's authentication attempts and its outstanding MD5 challenge (single use)."""

    def __init__(self, authenticator: Authenticator):
        self._auth = authenticator
        self._challenge: bytes | None = None

    @property
    def policy(self) -> AuthPolicy:
        return self._auth.policy

    def challenge(self) -> bytes:
        """A fresh challenge; it replaces (and so invalidates) any earlier one."""
        challenge = bytes(self._auth.random_bytes(CHALLENGE_SIZE))
        if len(challenge) != CHALLENGE_SIZE:
            raise RuntimeError(f"the random source gave {len(challenge)} bytes, not {CHALLENGE_SIZE}")
        self._challenge = challenge
        return challenge

    def _check_enabled(self, auth_type: AuthType) -> None:
        if not self.policy.allows(auth_type):
            method = "text" if auth_type == AuthType.NDMP_AUTH_TEXT else "MD5"
            raise AuthFailed(f"{method} authentication is disabled on this server",
                             ErrorCode.NDMP_NOT_SUPPORTED_ERR)

    def text(self, auth_id: str, password: str) -> User:
        """Check a clear-text password; return the user or raise AuthFailed."""
        self._check_enabled(AuthType.NDMP_AUTH_TEXT)
        user = self._auth.users.get(auth_id)
        expected = _bytes(user.password) if user is not None else b"\0" * PASSWORD_LENGTH
        if not hmac.compare_digest(expected, _bytes(password)) or user is None:
            raise AuthFailed(f"text authentication of user {auth_id!r} failed: unknown user or wrong password")
        return user

    def md5(self, auth_id: str, digest: bytes) -> User:
        """Check an MD5 digest against the outstanding challenge, which is used up either way."""
        self._check_enabled(AuthType.NDMP_AUTH_MD5)
        challenge, self._challenge = self._challenge, None
        if challenge is None:
            raise AuthFailed(f"MD5 authentication of user {auth_id!r} failed: no challenge outstanding "
                             "(ask CONFIG_GET_AUTH_ATTR for one; each is good for one attempt)")
        user = self._auth.users.get(auth_id)
        ok = False
        if user is not None and len(_bytes(user.password)) <= MAX_MD5_PASSWORD:
            ok = hmac.compare_digest(md5_digest(user.password, challenge), bytes(digest))
        if not ok or user is None:
            raise AuthFailed(f"MD5 authentication of user {auth_id!r} failed: unknown user or wrong password")
        return user
