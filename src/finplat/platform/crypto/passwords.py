"""Password hashing with Argon2id, and the password policy.

Argon2 is deliberately slow and blocks the thread, so async code uses the `*_async` variants,
which run in a worker thread. `verify_dummy` lets a login for an unknown user cost the same as
one for a known user, so response times do not reveal which accounts exist.
"""

from __future__ import annotations

import asyncio
import secrets

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 256
_MIN_LOCAL_PART = 3  # shorter local parts ("jo") would forbid too many good passwords

# Very common passwords that still meet the length rule; compared case-insensitively.
COMMON_PASSWORDS = frozenset(
    {
        "password1234",
        "password12345",
        "password123456",
        "passwordpassword",
        "p@ssw0rd1234",
        "passw0rd1234",
        "qwertyuiop123",
        "qwertyuiopasdf",
        "qwerty123456",
        "qwertyqwerty",
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123123123123",
        "111111111111",
        "000000000000",
        "aaaaaaaaaaaa",
        "abc123456789",
        "abcdefghijkl",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "zaq12wsxcde3",
        "asdfghjkl123",
        "iloveyou1234",
        "letmein12345",
        "welcome12345",
        "changeme1234",
        "administrator",
        "football1234",
        "baseball1234",
        "sunshine1234",
        "princess1234",
        "superman1234",
        "starwars1234",
        "monkey123456",
        "dragon123456",
    }
)


class PasswordHasher:
    def __init__(self, time_cost: int, memory_cost_kib: int, parallelism: int) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost_kib,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        # A hash of a random password nobody knows, made with the same parameters, so a dummy
        # verification costs exactly what a real one does.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(24))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        """True when `password` matches; False for a mismatch or an unusable stored hash."""
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the hash was made with other parameters (or is unreadable)."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except (InvalidHashError, ValueError):
            return True

    def verify_dummy(self, password: str) -> None:
        """One real verification whose result is discarded (unknown-user login path)."""
        self.verify(self._dummy_hash, password)

    async def hash_async(self, password: str) -> str:
        return await asyncio.to_thread(self.hash, password)

    async def verify_async(self, stored_hash: str, password: str) -> bool:
        return await asyncio.to_thread(self.verify, stored_hash, password)

    async def verify_dummy_async(self, password: str) -> None:
        await asyncio.to_thread(self.verify_dummy, password)


def password_problems(password: str, *, email: str | None = None) -> list[str]:
    """What is wrong with a proposed password, as sentences for the user; empty when fine."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"The password must be at least {MIN_LENGTH} characters long.")
    if len(password) > MAX_LENGTH:
        problems.append(f"The password must be at most {MAX_LENGTH} characters long.")
    folded = password.casefold()
    if email:
        local_part = email.rsplit("@", 1)[0].strip().casefold()
        if len(local_part) >= _MIN_LOCAL_PART and local_part in folded:
            problems.append("The password must not contain your email address.")
    if folded in COMMON_PASSWORDS:
        problems.append("The password is too common; choose one that is harder to guess.")
    return problems
