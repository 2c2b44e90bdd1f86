"""The screener: listed names caught through the ways people mistype them, common names left
alone, evidence moving scores, and the index returning exactly what brute force returns."""

from __future__ import annotations

import random
import unicodedata
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finplat.kernel import InvalidInput
from finplat.onboarding.screening import (
    EntryKind,
    Hit,
    ListEntry,
    ScoringPolicy,
    Screener,
    Subject,
    normalize_name,
)
from finplat.onboarding.screening.normalize import ARTICLES, SUN_ARTICLES


def keys(hits: list[Hit]) -> list[str]:
    return [hit.entry.key for hit in hits]


def best(screener: Screener, subject: Subject) -> Hit:
    hits = screener.screen(subject)
    assert hits, f"no hit for {subject.name!r}"
    return hits[0]


@pytest.mark.parametrize(
    ("query", "entry"),
    [
        ("ABU ZAYD UMAR DORDA", "un:LYi.006"),  # as listed
        ("Dorda Umar Zayd Abu", "un:LYi.006"),  # (a) reordered
        ("Ntaganda Bosco", "un:CDi.030"),
        ("Qasem Soleimani", "un:IRi.039"),
        ("Jerome Kakwavu", "un:CDi.005"),  # (b) diacritics removed from "Jérôme"
        ("Érïc Bâdégé", "un:CDi.001"),  # (b) diacritics added
        ("Abu Zayd Umar Dorba", "un:LYi.006"),  # (c) one-letter typos
        ("Bosco Ntaganba", "un:CDi.030"),
        ("Qasem Soliemani", "un:IRi.039"),
        ("Eric Badegge", "un:CDi.001"),
        ("Dr. Abu Zayd Umar Dorda", "un:LYi.006"),  # (d) honorifics added
        ("General Bosco Ntaganda", "un:CDi.030"),
        ("Sheikh Qasem Soleimani", "un:IRi.039"),
        ("abu zayd umar dorda", "un:LYi.006"),  # (e) case
        ("BOSCO NTAGANDA", "un:CDi.030"),
        ("bOsCo TaGaNdA", "un:CDi.030"),
        ("Ayman al-Zawahiri", "un:QDi.006"),
        ("Elvis Angus Logan Morey", "ofac:10278"),
        ("Dmitry Yuryevich Khoroshev", "ofac:48603"),
    ],
)
def test_listed_people_are_caught_through_variants(
    screener: Screener, query: str, entry: str
) -> None:
    hit = best(screener, Subject(query))
    assert hit.entry.key == entry
    assert hit.score >= screener.threshold
    # the explanation names the tokens that matched
    matched = hit.explanation.matched_tokens
    assert matched
    assert set(matched) <= set(hit.explanation.listed_tokens)
    assert set(matched) <= set(normalize_name(hit.matched_name))
    text = hit.explanation.describe()
    for pair in hit.explanation.matches:
        assert f"{pair.query_token}~{pair.listed_token}" in text


def test_jerome_kakwavu_is_listed_with_diacritics(by_key: dict[str, ListEntry]) -> None:
    # the fixture the diacritics case above relies on
    names = [n for n, _ in by_key["un:CDi.005"].names()]
    assert any("Jérôme" in n for n in names)


def test_explanation_shows_a_typo_as_a_similarity_below_one(screener: Screener) -> None:
    hit = best(screener, Subject("Bosco Ntaganba"))
    pairs = {m.listed_token: m for m in hit.explanation.matches}
    assert pairs["BOSCO"].similarity == 1.0
    assert 0.85 < pairs["NTAGANDA"].similarity < 1.0
    assert pairs["NTAGANDA"].query_token == "NTAGANBA"
    assert hit.explanation.unmatched_listed == ()


COMMON_NAMES = [
    "John Smith",
    "Maria Garcia",
    "Wei Zhang",
    "James Johnson",
    "Patricia Brown",
    "Robert Williams",
    "Jennifer Miller",
    "Michael Davis",
    "Linda Wilson",
    "Elizabeth Taylor",
    "David Anderson",
    "Susan Thomas",
    "Jose Martinez",
    "Ana Rodriguez",
    "Carlos Lopez",
    "Sofia Gonzalez",
    "Luis Perez",
    "Lucia Sanchez",
    "Li Wang",
    "Mei Chen",
    "Jun Liu",
    "Hiroshi Tanaka",
    "Yuki Suzuki",
    "Kenji Sato",
    "Olga Petrova",
    "Ivan Smirnov",
    "Pierre Dubois",
    "Claire Moreau",
    "Hans Muller",
    "Greta Schmidt",
    "Giulia Rossi",
    "Marco Bianchi",
    "Priya Sharma",
    "Rahul Patel",
    "Anil Gupta",
    "Kwame Mensah",
    "Ngozi Okafor",
    "Sven Larsen",
    "Ingrid Johansson",
    "Piotr Nowak",
    "Emma Thompson",
    "Oliver Jones",
]


@pytest.mark.parametrize("name", COMMON_NAMES)
def test_common_names_that_are_not_listed_do_not_hit(screener: Screener, name: str) -> None:
    assert screener.screen(Subject(name)) == []


def test_a_common_name_that_is_listed_does_hit(screener: Screener) -> None:
    # the list above is not vacuous: a common name that *is* on the list hits
    assert "un:CFi.010" in keys(screener.screen(Subject("Mohammed Ali")))


def test_date_of_birth_moves_a_borderline_hit(screener: Screener) -> None:
    plain = best(screener, Subject("Abu Zayd Dorda"))
    assert plain.entry.key == "un:LYi.006"
    assert screener.threshold <= plain.score < screener.threshold + 5
    contradicted = Subject("Abu Zayd Dorda", birth_date=date(1970, 1, 2))
    assert "un:LYi.006" not in keys(screener.screen(contradicted))
    [below] = [h for h in screener.screen(contradicted, threshold=0) if h.entry.key == "un:LYi.006"]
    assert below.score == pytest.approx(plain.score - 20.0)
    dob = below.explanation.evidence[0]
    assert (dob.kind, dob.outcome, dob.effect) == ("dob", "contradicts", -20.0)

    weak = Subject("Zayd Dorda")
    assert "un:LYi.006" not in keys(screener.screen(weak))
    lifted = best(screener, Subject("Zayd Dorda", birth_date=date(1944, 4, 4)))
    assert lifted.entry.key == "un:LYi.006"
    assert lifted.score >= screener.threshold
    assert lifted.explanation.evidence[0].outcome == "supports"
    assert "same day" in lifted.explanation.describe()


def test_a_year_range_supports_a_date_inside_it(screener: Screener) -> None:
    plain = best(screener, Subject("Bosco Ntaganda")).score
    inside = best(screener, Subject("Bosco Ntaganda", birth_date=date(1974, 6, 1)))
    assert inside.explanation.evidence[0].outcome == "supports"
    assert inside.score == min(100.0, plain + 3.0)


def test_country_evidence(screener: Screener) -> None:
    base = best(screener, Subject("Abu Zayd Dorda")).score
    same = best(screener, Subject("Abu Zayd Dorda", countries=("Libya",)))
    other = best(screener, Subject("Abu Zayd Dorda", countries=("FR",)))
    assert same.score == pytest.approx(base + 2.0)
    assert other.score == pytest.approx(base - 3.0)
    assert same.explanation.evidence[1].outcome == "supports"
    assert other.explanation.evidence[1].outcome == "contradicts"


def test_a_matching_identifier_makes_a_near_certain_hit(screener: Screener) -> None:
    hit = best(screener, Subject("Jane Doe", identifiers=("fk-117 rk0",)))
    assert hit.entry.key == "un:LYi.006"
    assert hit.score >= 98.0
    identifier = hit.explanation.evidence[2]
    assert (identifier.kind, identifier.outcome) == ("identifier", "supports")
    assert screener.screen(Subject("Jane Doe", identifiers=("FK117RK1",))) == []


def test_weak_aliases_score_lower(screener: Screener) -> None:
    hit = best(screener, Subject("Terminator"))
    assert hit.entry.key == "un:CDi.030"
    assert hit.score == 90.0
    assert hit.explanation.weak_alias_penalty == 10.0
    assert screener.screen(Subject("John Terminator")) == []


def test_subject_kind_chooses_the_entries(screener: Screener) -> None:
    assert keys(screener.screen(Subject("Al-Qaida", kind="entity")))[0] == "un:QDe.004"
    assert keys(screener.screen(Subject("ALQAIDA", kind="entity")))[0] == "un:QDe.004"
    assert "un:QDe.004" not in keys(screener.screen(Subject("Al-Qaida")))
    assert keys(screener.screen(Subject("Iris Makran", kind="vessel"))) == ["ofac:40716"]
    assert "ofac:19709" in keys(
        screener.screen(Subject("Aircraft Avionics Parts & Support Limited", kind="entity"))
    )


def test_hits_are_best_first_one_per_entry(screener: Screener) -> None:
    hits = screener.screen(Subject("Mohammed Ali"), threshold=60)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert len(set(keys(hits))) == len(hits)
    assert len(hits) > 5
    assert all(h.score >= 60 for h in hits)


def test_thresholds_and_policy_are_arguments(un_entries: list[ListEntry]) -> None:
    strict = Screener(un_entries, threshold=99.0)
    assert strict.screen(Subject("Bosco Ntaganba")) == []
    assert strict.screen(Subject("Bosco Ntaganba"), threshold=85.0)
    lenient = Screener(un_entries, policy=ScoringPolicy(unmatched_listed_penalty=10.0))
    assert "un:LYi.006" in keys(lenient.screen(Subject("Zayd Dorda")))
    assert strict.size == len(un_entries) == 1003
    assert strict.name_count > strict.size
    with pytest.raises(InvalidInput):
        Screener([], threshold=101)
    with pytest.raises(InvalidInput):
        ScoringPolicy(min_token_similarity=0.0)
    assert Screener([]).screen(Subject("Anyone")) == []


def _perturb(name: str, rng: random.Random) -> str:
    words = name.split()
    rng.shuffle(words)
    text = " ".join(words)
    roll = rng.random()
    if roll < 0.3:  # strip diacritics
        text = "".join(
            c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
        )
    elif roll < 0.5:  # add some
        text = text.replace("e", "é").replace("a", "à").replace("O", "Ö")
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if len(letters) > 4 and rng.random() < 0.7:
        at = rng.choice(letters[1:])
        kind = rng.randrange(3)
        letter = rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        if kind == 0:
            text = text[:at] + letter + text[at + 1 :]
        elif kind == 1:
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + letter + text[at:]
    if rng.random() < 0.2:
        text = rng.choice(["Mr ", "Dr. ", "Sheikh ", "Haji "]) + text
    return text.upper() if rng.random() < 0.3 else text


def _queries(entries: list[ListEntry], n: int) -> list[Subject]:
    rng = random.Random(7)
    subjects = []
    for i in range(n):
        birth = date(rng.randint(1940, 2000), rng.randint(1, 12), rng.randint(1, 28))
        countries = rng.choice(
            [(), (), ("AF",), ("IQ", "FR"), ("Democratic Republic of the Congo",)]
        )
        if i % 2 == 0:
            entry = rng.choice(entries)
            name = _perturb(rng.choice([n for n, _ in entry.names()]), rng)
            listed_dob = entry.birth_dates[0] if entry.birth_dates and rng.random() < 0.3 else None
            dob = (
                date(listed_dob.year, listed_dob.month or 1, listed_dob.day or 1)
                if listed_dob
                else birth
            )
            subjects.append(
                Subject(
                    name,
                    birth_date=dob if rng.random() < 0.5 else None,
                    countries=countries,
                    kind=entry.kind,
                )
            )
        else:
            name = f"{rng.choice(COMMON_NAMES).split()[0]} {rng.choice(COMMON_NAMES).split()[1]}"
            if rng.random() < 0.3:
                name = f"{rng.choice(['Mohammed', 'Ali', 'Abdul', 'Kim', 'Ahmad'])} {name}"
            subjects.append(
                Subject(name, birth_date=birth if rng.random() < 0.5 else None, countries=countries)
            )
    subjects.append(Subject("Jane Doe", identifiers=("FK117RK0",)))
    subjects.append(Subject("Makran", kind="vessel", identifiers=("IMO 9486910",)))
    return subjects


def _view(hits: list[Hit]) -> list[tuple[str, str, float]]:
    return [(h.entry.key, h.matched_name, round(h.score, 9)) for h in hits]


def test_index_returns_exactly_what_brute_force_returns(
    screener: Screener, un_entries: list[ListEntry], ofac_entries: list[ListEntry]
) -> None:
    subjects = _queries([*un_entries, *ofac_entries], 300)
    compared = 0
    for subject in subjects:
        oracle = screener.brute_force(subject, threshold=0.0)
        for threshold in (85.0, 70.0):
            expected = [h for h in oracle if h.score + 1e-6 >= threshold]
            assert _view(screener.screen(subject, threshold=threshold)) == _view(expected), subject
            compared += len(expected)
    assert compared > 300  # the comparison covered many hits, near the thresholds too


def _has_article(tokens: tuple[str, ...]) -> bool:
    return any(t in ARTICLES or t in SUN_ARTICLES for t in tokens)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_token_order_does_not_change_scores(
    data: st.DataObject, screener: Screener, un_entries: list[ListEntry]
) -> None:
    entry = data.draw(st.sampled_from(un_entries))
    name = data.draw(st.sampled_from([n for n, _ in entry.names()]))
    tokens = normalize_name(name, entry.kind)
    if not tokens or _has_article(tokens):
        return
    shuffled = data.draw(st.permutations(tokens))
    kind: EntryKind = "person" if entry.kind == "person" else "entity"
    original = screener.screen(Subject(" ".join(tokens), kind=kind), threshold=50)
    reordered = screener.screen(Subject(" ".join(shuffled), kind=kind), threshold=50)
    assert _view(reordered) == _view(original)
