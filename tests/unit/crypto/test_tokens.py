import hashlib
import re

import pytest

from finplat.platform.crypto import hash_token, new_token, tokens_equal


def test_new_tokens_are_url_safe_long_and_unique() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 32 bytes


def test_the_size_can_grow_but_not_shrink_below_128_bits() -> None:
    assert len(new_token(48)) == 64
    with pytest.raises(ValueError, match="16"):
        new_token(8)


def test_hash_token_is_sha256_hex() -> None:
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()
    assert hash_token("abc") != hash_token("abd")
    assert re.fullmatch(r"[0-9a-f]{64}", hash_token(new_token()))


def test_tokens_equal() -> None:
    assert tokens_equal("abc", "abc")
    assert not tokens_equal("abc", "abd")
    assert not tokens_equal("abc", "abcd")
    assert tokens_equal("ü", "ü")
