"""Authentication: the NDMP v4 MD5 digest, NDMP-specific passwords, and single-use challenges."""
from __future__ import annotations

import hashlib
import re

import pytest
from ndmp_dma import counting_random
from ndmp_samples import md5_digest as samples_digest

from ndmp.auth import (
    Authenticator,
    AuthFailed,
    AuthPolicy,
    Role,
    User,
    generate_password,
    md5_digest,
)
from ndmp.constants import AuthType, ErrorCode

SECRET = b"node-secret-0123456789"


def test_md5_digest_layout():
    pw, challenge = b"secret", bytes(range(64))
    buf = bytearray(128)
    buf[0:6] = pw                    # password at 0
    buf[58:122] = challenge          # challenge at 64 - L
    buf[122:128] = pw                # password at 128 - L
    assert md5_digest(pw, challenge) == hashlib.md5(bytes(buf)).digest()
    assert md5_digest("secret", challenge) == samples_digest(pw, challenge)


@pytest.mark.parametrize("length", [0, 1, 16, 31, 32])
def test_md5_digest_any_password_length(length):
    pw, challenge = b"p" * length, bytes(range(100, 164))
    assert md5_digest(pw, challenge) == samples_digest(pw, challenge)


def test_md5_digest_limits():
    with pytest.raises(ValueError, match="at most 32 bytes"):
        md5_digest(b"x" * 33, bytes(64))
    with pytest.raises(ValueError, match="64 bytes"):
        md5_digest(b"x", bytes(63))


def test_generated_password_shape_and_determinism():
    pw = generate_password("user1", "login-password", SECRET)
    assert re.fullmatch(r"[A-Za-z0-9]{16}", pw)
    assert generate_password("user1", "login-password", SECRET) == pw


@pytest.mark.parametrize("other", [("user1", "login-password2", SECRET), ("user2", "login-password", SECRET),
                                   ("user1", "login-password", b"another node"),
                                   ("user1l", "ogin-password", SECRET)])
def test_generated_password_changes(other):
    assert generate_password(*other) != generate_password("user1", "login-password", SECRET)


def test_generated_password_needs_a_secret():
    with pytest.raises(ValueError, match="node secret"):
        generate_password("u", "p", b"")


def test_user_from_login_and_hidden_password():
    u = User.from_login("ndmp", "backup", "pw", SECRET)
    assert u == User("ndmp", Role.BACKUP, generate_password("ndmp", "pw", SECRET))
    assert u.password not in repr(u)


def login(policy=None):
    users = [User("ndmp", Role.BACKUP, "jWZiNt57huPOoD8d")]
    return Authenticator(users, policy, random_bytes=counting_random).login()


def test_text():
    assert login().text("ndmp", "jWZiNt57huPOoD8d").name == "ndmp"
    for user, pw in [("ndmp", "wrong"), ("nobody", "jWZiNt57huPOoD8d"), ("ndmp", "")]:
        with pytest.raises(AuthFailed) as info:
            login().text(user, pw)
        assert info.value.error == ErrorCode.NDMP_NOT_AUTHORIZED_ERR


def test_md5_ok_and_wrong():
    lg = login()
    assert lg.md5("ndmp", md5_digest(b"jWZiNt57huPOoD8d", lg.challenge())).role is Role.BACKUP
    with pytest.raises(AuthFailed, match="wrong password"):
        lg.md5("ndmp", md5_digest(b"wrong", lg.challenge()))
    with pytest.raises(AuthFailed, match="unknown user"):
        lg.md5("nobody", md5_digest(b"jWZiNt57huPOoD8d", lg.challenge()))


def test_md5_challenge_is_single_use():
    lg = login()
    challenge = lg.challenge()
    digest = md5_digest(b"jWZiNt57huPOoD8d", challenge)
    lg.md5("ndmp", digest)
    with pytest.raises(AuthFailed, match="no challenge outstanding"):
        lg.md5("ndmp", digest)                   # replayed


def test_md5_failed_attempt_uses_the_challenge_up():
    lg = login()
    challenge = lg.challenge()
    with pytest.raises(AuthFailed):
        lg.md5("ndmp", bytes(16))
    with pytest.raises(AuthFailed, match="no challenge"):
        lg.md5("ndmp", md5_digest(b"jWZiNt57huPOoD8d", challenge))


def test_md5_new_challenge_makes_the_old_one_stale():
    lg = login()
    old = lg.challenge()
    new = lg.challenge()
    assert old != new
    with pytest.raises(AuthFailed, match="wrong password"):
        lg.md5("ndmp", md5_digest(b"jWZiNt57huPOoD8d", old))


def test_challenges_are_fresh_by_default():
    lg = Authenticator([]).login()
    assert len({lg.challenge() for _ in range(8)}) == 8


def test_policy():
    assert AuthPolicy().enabled == [AuthType.NDMP_AUTH_TEXT, AuthType.NDMP_AUTH_MD5]
    assert AuthPolicy(text=False).enabled == [AuthType.NDMP_AUTH_MD5]
    with pytest.raises(AuthFailed, match="text authentication is disabled") as info:
        login(AuthPolicy(text=False)).text("ndmp", "jWZiNt57huPOoD8d")
    assert info.value.error == ErrorCode.NDMP_NOT_SUPPORTED_ERR
    lg = login(AuthPolicy(md5=False))
    with pytest.raises(AuthFailed, match="MD5 authentication is disabled"):
        lg.md5("ndmp", bytes(16))


def test_duplicate_users_are_refused():
    with pytest.raises(ValueError, match="defined twice"):
        Authenticator([User("a", Role.ADMIN, "x"), User("a", Role.BACKUP, "y")])
