"""Passwords: the policy (long enough, not common, not the account's own address) and
their hashing with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 128

# The most used passwords that pass the length rule; a fuller list belongs in a data file.
COMMON = frozenset({
    "1234567890", "12345678910", "123456789a", "qwertyuiop", "password12", "password123",
    "password1234", "iloveyou12", "1q2w3e4r5t", "qwerty1234", "abcdefghij", "0987654321",
    "1111111111", "aaaaaaaaaa", "passw0rd12", "letmein123", "welcome123", "football12",
    "shopstream", "shopstream1", "changeme12", "administrator", "qazwsxedc1",
})


def password_problems(password: str, email: str = "") -> list[str]:
    """Why `password` is not acceptable; an empty list when it is."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters long")
    lowered = password.lower()
    if lowered in COMMON or len(set(lowered)) < 4:
        problems.append("is too common or too simple")
    local_part = email.split("@", 1)[0].lower()
    if len(local_part) >= 4 and local_part in lowered:
        problems.append("must not contain the email address")
    return problems


# OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verifying against this costs what a real verification costs, so an unknown
# email answers in the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
