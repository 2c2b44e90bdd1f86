"""Name normalisation and the phonetic gate."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finplat.onboarding.screening import ListEntry, compatible, normalize_name, phonetic_key
from finplat.onboarding.screening.normalize import LEGAL_FORMS, LEGAL_PHRASES, phonetic_keys


@pytest.mark.parametrize(
    "spelling", ["Al-Qaida", "AL QAIDA", "ALQAIDA", "al qaida", "Al\u2011Qaida"]
)
def test_arabic_article_spellings_normalise_alike(spelling: str) -> None:
    assert normalize_name(spelling, "entity") == ("ALQAIDA",)


def test_transliteration_diacritics_and_case() -> None:
    assert normalize_name("Jérôme Kakwavu") == ("JEROME", "KAKWAVU")
    assert normalize_name("jerome KAKWAVU") == normalize_name("Jérôme Kakwavu")
    assert normalize_name("Абу Мухаммад") == ("ABU", "MUKHAMMAD")  # noqa: RUF001
    assert normalize_name("Łukasz Øster-Straße") == ("LUKASZ", "OSTER", "STRASSE")


def test_apostrophes_and_dots_join_other_marks_split() -> None:
    assert normalize_name("O'Brien") == ("OBRIEN",)
    assert normalize_name("Hay\u2019at Tahrir") == ("HAYAT", "TAHRIR")
    assert normalize_name("LOGAN MOREY, Elvis Angus") == ("LOGAN", "MOREY", "ELVIS", "ANGUS")
    assert normalize_name("Jean-Pierre  Bemba") == ("JEAN", "PIERRE", "BEMBA")


def test_honorifics_are_dropped_from_person_names_only() -> None:
    assert normalize_name("Sheikh Hassan Dahir Aweys") == ("HASSAN", "DAHIR", "AWEYS")
    assert normalize_name("Dr. Mr. General Bosco Ntaganda") == ("BOSCO", "NTAGANDA")
    assert normalize_name("MORENO JR., Daniel Gonzalo") == ("MORENO", "DANIEL", "GONZALO")
    assert normalize_name("General Electric Holdings", "entity") == (
        "GENERAL",
        "ELECTRIC",
        "HOLDINGS",
    )
    # a name made only of honorifics keeps its words rather than vanish
    assert normalize_name("General") == ("GENERAL",)


def test_legal_forms_and_fillers_are_dropped_from_entity_names_only() -> None:
    assert normalize_name("SUEX OTC, S.R.O.", "entity") == ("SUEX", "OTC")
    assert normalize_name("OPEN JOINT-STOCK COMPANY ROSNEFT OIL COMPANY", "entity") == (
        "ROSNEFT",
        "OIL",
    )
    assert normalize_name("AIRCRAFT, AVIONICS, PARTS & SUPPORT LTD.", "entity") == normalize_name(
        "AIRCRAFT AVIONICS PARTS AND SUPPORT LTD.", "entity"
    )
    assert normalize_name("Company Limited Smith", "person") == ("COMPANY", "LIMITED", "SMITH")


def test_every_legal_phrase_holds_a_legal_form() -> None:
    # what makes phrase removal idempotent (see normalize._without_phrases)
    assert all(set(phrase) & LEGAL_FORMS for phrase in LEGAL_PHRASES)


@pytest.mark.parametrize(
    ("token", "key"),
    [
        ("MOHAMMED", "MMT"),
        ("MUHAMMAD", "MMT"),
        ("QADHAFI", "KTB"),
        ("GADDAFI", "KTB"),
        ("YUSUF", "ASB"),
        ("YOUSSEF", "ASB"),
        ("OMAR", "AMR"),
        ("UMAR", "AMR"),
    ],
)
def test_phonetic_key_absorbs_transliteration(token: str, key: str) -> None:
    assert phonetic_key(token) == key


@pytest.mark.parametrize(
    ("listed", "typed"),
    [
        ("TAGANDA", "TAGENDA"),  # vowel swapped
        ("NTAGANDA", "NTAGANDB"),  # consonant swapped
        ("BADEGE", "BADGE"),  # letter dropped
        ("DORDA", "DORDDA"),  # letter doubled
        ("KHOROSHEV", "KHOROSHEVV"),
        ("SOLEIMANI", "SOLIEMANI"),  # letters transposed
        ("EMMANUEL", "EMBMANUEL"),  # letter typed inside a double
        ("LUCKSON", "LUCBKSON"),  # letter typed inside a consonant run
        ("JEROME", "JRROME"),
        ("ZAWAHIRI", "ZAWAHRI"),
    ],
)
def test_one_letter_typos_pass_the_gate(listed: str, typed: str) -> None:
    assert compatible(listed, typed)
    assert compatible(typed, listed)


@pytest.mark.parametrize(
    ("written", "plain"),
    [("Jérôme", "Jerome"), ("Müller", "Muller"), ("Ñañez", "Nanez"), ("Sørensen", "Sorensen")],
)
def test_missing_diacritics_pass_the_gate(written: str, plain: str) -> None:
    (a,) = normalize_name(written)
    (b,) = normalize_name(plain)
    assert compatible(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("SMITH", "GARCIA"), ("BOSCO", "NTAGANDA"), ("JOHNSON", "PETROV"), ("KHOROSHEV", "DORDA")],
)
def test_unrelated_tokens_do_not_pass_the_gate(a: str, b: str) -> None:
    assert not compatible(a, b)


def test_every_single_edit_of_listed_tokens_passes_the_gate(un_entries: list[ListEntry]) -> None:
    tokens = sorted(
        {t for e in un_entries[:60] for t in normalize_name(e.primary_name) if len(t) >= 3}
    )
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    failures = []
    for token in tokens:
        edits = {token[:i] + token[i + 1 :] for i in range(len(token))}
        edits |= {token[:i] + c + token[i + 1 :] for i in range(len(token)) for c in letters}
        edits |= {token[:i] + c + token[i:] for i in range(len(token) + 1) for c in letters}
        edits |= {
            token[:i] + token[i + 1] + token[i] + token[i + 2 :] for i in range(len(token) - 1)
        }
        failures += [(token, e) for e in edits if e and not compatible(token, e)]
    assert len(tokens) > 50
    assert failures == []


def test_article_keys_keep_qaida_and_alqaida_comparable() -> None:
    assert "KT" in phonetic_keys("ALQAIDA")
    assert compatible("ALQAIDA", "QAIDA")


names = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)


@settings(max_examples=300)
@given(names, st.sampled_from(["person", "entity"]))
def test_normalisation_is_idempotent(name: str, kind: str) -> None:
    once = normalize_name(name, kind)
    assert normalize_name(" ".join(once), kind) == once


@settings(max_examples=200)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz -'.", max_size=40))
def test_normalisation_ignores_case(name: str) -> None:
    assert normalize_name(name.upper()) == normalize_name(name.lower())


@settings(max_examples=200)
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=20))
def test_a_token_is_compatible_with_itself_and_keys_are_never_empty(token: str) -> None:
    assert phonetic_key(token)
    assert compatible(token, token)


NAME_WORDS = """
    AL EL UL AS SALAM AN NASR AR RAHMAN ASH SHABAB AT THE MR HAJI GENERAL JOINT STOCK
    COMPANY LTD OF OPEN LIMITED LIABILITY SA SOCIEDAD ANONIMA X Al- ' - & é
"""
name_words = st.sampled_from(NAME_WORDS.split())


@settings(max_examples=500)
@given(st.lists(name_words, max_size=8), st.sampled_from(["person", "entity"]))
def test_normalisation_is_idempotent_on_noise_and_articles(words: list[str], kind: str) -> None:
    # the words that interact: articles, honorifics, legal forms and fillers
    once = normalize_name(" ".join(words), kind)
    assert normalize_name(" ".join(once), kind) == once


def test_noise_that_shields_an_article_is_settled_in_one_pass() -> None:
    once = normalize_name("COMPANY AT THE", "entity")
    assert once == ("ATTHE",)
    assert normalize_name(" ".join(once), "entity") == once
