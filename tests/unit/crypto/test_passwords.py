import pytest

from finplat.platform.crypto import PasswordHasher, password_problems
from finplat.platform.crypto.passwords import COMMON_PASSWORDS

FAST = PasswordHasher(time_cost=1, memory_cost_kib=8, parallelism=1)


def test_hash_is_argon2id_with_the_configured_parameters_and_salted() -> None:
    stored = FAST.hash("correct horse battery staple")
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert FAST.hash("correct horse battery staple") != stored


def test_verify_accepts_the_right_password_only() -> None:
    stored = FAST.hash("correct horse battery staple")
    assert FAST.verify(stored, "correct horse battery staple") is True
    assert FAST.verify(stored, "correct horse battery stapl") is False
    assert FAST.verify(stored, "") is False


@pytest.mark.parametrize(
    "stored",
    ["", "not a hash", "$argon2id$v=19$m=8,t=1,p=1$broken", "$2b$12$abcdefghijklmnopqrstuv"],
)
def test_verify_returns_false_for_a_malformed_hash(stored: str) -> None:
    assert FAST.verify(stored, "whatever password") is False


def test_needs_rehash_when_parameters_change() -> None:
    stored = FAST.hash("correct horse battery staple")
    assert FAST.needs_rehash(stored) is False
    stronger = PasswordHasher(time_cost=2, memory_cost_kib=16, parallelism=1)
    assert stronger.needs_rehash(stored) is True
    assert stronger.verify(stored, "correct horse battery staple")  # old hashes still verify
    assert FAST.needs_rehash("garbage") is True


def test_verify_dummy_runs_a_real_verification_and_returns_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, str]] = []
    hasher = PasswordHasher(time_cost=1, memory_cost_kib=8, parallelism=1)
    real_verify = hasher.verify

    def spy(stored: str, password: str) -> bool:
        calls.append((stored, password))
        return real_verify(stored, password)

    monkeypatch.setattr(hasher, "verify", spy)
    assert hasher.verify_dummy("guess") is None  # type: ignore[func-returns-value]
    ((stored, password),) = calls
    assert password == "guess"
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")  # same cost as real hashes


async def test_async_variants() -> None:
    stored = await FAST.hash_async("correct horse battery staple")
    assert await FAST.verify_async(stored, "correct horse battery staple") is True
    assert await FAST.verify_async(stored, "wrong wrong wrong") is False
    assert await FAST.verify_async("nonsense", "x") is False
    assert await FAST.verify_dummy_async("anything") is None  # type: ignore[func-returns-value]


def test_a_good_password_has_no_problems() -> None:
    assert password_problems("violet-kettle-orbit-92", email="alice@example.com") == []


@pytest.mark.parametrize(
    ("password", "email", "fragment"),
    [
        ("short1!", None, "at least 12"),
        ("x" * 257, None, "at most 256"),
        ("my-Alice.Smith-passphrase", "alice.smith@example.com", "email"),
        ("Password123456", None, "too common"),
        ("QWERTYUIOP123", None, "too common"),
    ],
)
def test_problems_are_reported(password: str, email: str | None, fragment: str) -> None:
    problems = password_problems(password, email=email)
    assert len(problems) == 1
    assert fragment in problems[0]


def test_boundaries_and_multiple_problems() -> None:
    assert password_problems("a" * 11 + "b") == []
    assert password_problems("x" * 256) == []
    assert len(password_problems("bob12", email="bob12@example.com")) == 2
    # a very short local part is not held against the password
    assert password_problems("jo-walks-the-dog-7", email="jo@example.com") == []


def test_the_common_list_is_meaningful() -> None:
    assert len(COMMON_PASSWORDS) >= 30
    assert all(password_problems(p) for p in COMMON_PASSWORDS)
