"""The password policy: long enough, not common, not the account's own address."""

from __future__ import annotations

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
