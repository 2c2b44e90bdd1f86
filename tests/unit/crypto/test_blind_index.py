import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finplat.platform.crypto import BlindIndex, KeyRing, normalize

RING = KeyRing.generate()
INDEX = BlindIndex(RING)


def test_the_digest_is_hmac_sha256_over_context_nul_normalized_value() -> None:
    expected = hmac.new(
        RING.blind_index_key, b"identity.email\x00alice@example.com", hashlib.sha256
    ).hexdigest()
    assert INDEX.digest("  Alice@Example.COM ", context="identity.email") == expected


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("  Alice  Smith ", "alice smith"),
        ("a\t\n b", "a b"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # casefold, not lower
        ("\uff46\uff55\uff4c\uff4c", "full"),  # fullwidth letters, NFKC
        ("e\u0301", "\u00e9"),  # composed
        ("x\u00a0y", "x y"),  # no-break space is whitespace
        ("", ""),
    ],
)
def test_normalize(raw: str, normal: str) -> None:
    assert normalize(raw) == normal


@given(st.text())
def test_normalize_is_idempotent(value: str) -> None:
    assert normalize(normalize(value)) == normalize(value)


_WHITESPACE = st.text(alphabet=" \t\n\u00a0\u3000", min_size=1, max_size=3)


@given(st.text(), _WHITESPACE, _WHITESPACE)
def test_surrounding_whitespace_does_not_change_the_digest(
    value: str, before: str, after: str
) -> None:
    assert INDEX.digest(before + value + after, context="c") == INDEX.digest(value, context="c")


@given(
    st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789@.", min_size=1)), _WHITESPACE
)
def test_ascii_case_and_inner_whitespace_runs_do_not_change_the_digest(
    words: list[str], gap: str
) -> None:
    spaced = gap.join(word.upper() for word in words)
    assert INDEX.digest(spaced, context="c") == INDEX.digest(" ".join(words), context="c")


def test_equal_values_match_and_different_values_do_not() -> None:
    assert INDEX.digest("Bob@x.io", context="c") == INDEX.digest("bob@X.IO", context="c")
    assert INDEX.digest("bob@x.io", context="c") != INDEX.digest("rob@x.io", context="c")


def test_the_context_separates_kinds_of_value() -> None:
    assert INDEX.digest("123", context="tax_id") != INDEX.digest("123", context="phone")


def test_the_digest_depends_on_the_index_key_but_not_on_master_key_rotation() -> None:
    assert BlindIndex(KeyRing.generate()).digest("a", context="c") != INDEX.digest("a", context="c")
    assert BlindIndex(RING.rotated()).digest("a", context="c") == INDEX.digest("a", context="c")


@pytest.mark.parametrize("context", ["", "a\x00b"])
def test_a_missing_or_ambiguous_context_is_refused(context: str) -> None:
    with pytest.raises(ValueError, match="context"):
        INDEX.digest("a", context=context)
