"""The screener: an in-memory index over every name variant of every list entry, and the
scoring that turns a subject into explained hits.

Index. Every distinct normalised token of every name is filed under its phonetic gate
variants (`normalize.gate_variants`); a posting list per token names the names that hold it.
A query token looks up its own variants, which yields exactly the vocabulary tokens it is
phonetically compatible with; only those are compared (Jaro-Winkler), and only names holding
a token that compared well enough become candidates. A candidate whose best possible score
(every reachable token matched perfectly, all favourable evidence) is still below the
threshold is dropped before it is scored.

Score, per name variant (0..100). Query and listed tokens are paired one to one, order
ignored, maximising the total similarity; the name score is the weighted mean similarity of
the pairs, minus a penalty for the share of listed-name weight left unmatched and a smaller
one for unmatched query tokens, minus a fixed penalty for weak aliases. Name particles
(BIN, ABU, VAN...) weigh half. Then evidence moves the score: dates of birth, countries, and
identifier numbers. An entry is reported once, through its best-scoring name.

`brute_force` scores every name of every entry with the same functions and no index: it is
the benchmark's baseline and the oracle the tests hold the index to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import extract

from finplat.kernel import InvalidInput
from finplat.onboarding.screening.countries import country_code
from finplat.onboarding.screening.model import (
    DateAgreement,
    Evidence,
    Explanation,
    Hit,
    ListEntry,
    Subject,
    TokenMatch,
    normalize_identifier,
)
from finplat.onboarding.screening.normalize import (
    PARTICLES,
    compatible,
    gate_variants,
    normalize_name,
    strip_article,
)

#: Identifier numbers shorter than this are too likely to collide to count as evidence.
MIN_IDENTIFIER_LENGTH = 5
#: Exact assignment search up to this many query tokens; greedy beyond (very long names).
_EXACT_ASSIGNMENT_LIMIT = 8
_EPSILON = 1e-6
#: Gate-variant sets whose compatible vocabulary is remembered beyond the listed tokens' own
#: (query tokens the lists do not hold); bounds the memory odd input can take.
_EXTRA_CHOICES = 5_000
_jaro_winkler = JaroWinkler.similarity


@dataclass(frozen=True)
class ScoringPolicy:
    """Every weight of the score, in score points unless said otherwise. The lead feeds
    these from settings; the defaults are what the tests and the benchmark use."""

    #: Token pairs less alike than this (Jaro-Winkler, 0..1) count as unmatched.
    min_token_similarity: float = 0.80
    #: Points lost when none of the listed name's weight is matched (scaled by the share).
    unmatched_listed_penalty: float = 40.0
    #: Points lost when none of the query's weight is matched (scaled by the share).
    unmatched_query_penalty: float = 20.0
    #: Points lost when the name is a weak alias, or a one-word alias of a person.
    weak_alias_penalty: float = 10.0
    #: Factor on a pair that only matches once an article is stripped (QAIDA ~ ALQAIDA).
    article_discount: float = 0.95
    #: Weight of a name particle; other tokens weigh 1.
    particle_weight: float = 0.5
    dob_exact_bonus: float = 5.0
    dob_consistent_bonus: float = 3.0
    dob_near_penalty: float = 5.0
    dob_mismatch_penalty: float = 20.0
    country_match_bonus: float = 2.0
    country_mismatch_penalty: float = 3.0
    #: A matching identifier number lifts the score to at least this.
    identifier_floor: float = 98.0

    def __post_init__(self) -> None:
        # the index prunes with a ceiling that relies on these bounds (see Screener.screen)
        if not 0.0 < self.min_token_similarity <= 1.0:
            raise InvalidInput("min_token_similarity must be in (0, 1]", code="invalid_policy")
        if not 0.0 < self.article_discount <= 1.0:
            raise InvalidInput("article_discount must be in (0, 1]", code="invalid_policy")
        if not self.particle_weight > 0.0:
            raise InvalidInput("particle_weight must be positive", code="invalid_policy")
        if not 0.0 <= self.identifier_floor <= 100.0:
            raise InvalidInput("identifier_floor must be in [0, 100]", code="invalid_policy")
        points = (
            self.unmatched_listed_penalty,
            self.unmatched_query_penalty,
            self.weak_alias_penalty,
            self.dob_exact_bonus,
            self.dob_consistent_bonus,
            self.dob_near_penalty,
            self.dob_mismatch_penalty,
            self.country_match_bonus,
            self.country_mismatch_penalty,
        )
        if any(not 0.0 <= value <= 100.0 for value in points):
            raise InvalidInput(
                "penalties and bonuses are points in [0, 100]", code="invalid_policy"
            )


@dataclass(frozen=True, slots=True)
class _Name:
    entry: int
    order: int
    text: str
    tokens: tuple[str, ...]
    token_ids: tuple[int, ...]
    weights: tuple[float, ...]
    total: float
    weak: bool


@dataclass(frozen=True, slots=True)
class _Query:
    tokens: tuple[str, ...]  # sorted: the scoring sees no order
    shown: tuple[str, ...]  # as the subject wrote them, for the explanation
    weights: tuple[float, ...]
    total: float
    person: bool
    birth_date: date | None
    countries: frozenset[str]
    identifiers: frozenset[str]
    max_bonus: float


@dataclass(frozen=True, slots=True)
class _Choices:
    ids: list[int]
    tokens: list[str]
    all_bare: list[str]  # `tokens` without their articles
    bare_ids: list[int]  # those of `ids` that carry an article...
    bare: list[str]  # ...and their tokens without it


@dataclass(frozen=True, slots=True)
class _Scored:
    name: int
    score: float
    pairs: tuple[tuple[int, int, float], ...]  # (query index, listed index, similarity)
    listed_penalty: float
    query_penalty: float
    weak_penalty: float


class Screener:
    """Screens subjects against list entries held in memory. Build a new one when the lists
    change. Its only state after construction is a bounded cache of plain dict writes, so one
    instance may serve many threads."""

    def __init__(
        self,
        entries: Iterable[ListEntry],
        *,
        threshold: float = 85.0,
        policy: ScoringPolicy | None = None,
    ) -> None:
        if not 0.0 <= threshold <= 100.0:
            raise InvalidInput("threshold must be in [0, 100]", code="invalid_threshold")
        self.threshold = threshold
        self.policy = policy or ScoringPolicy()
        self._entries: tuple[ListEntry, ...] = tuple(entries)
        self._names: list[_Name] = []
        self._vocabulary: list[str] = []
        self._token_ids: dict[str, int] = {}
        self._by_variant: dict[str, list[int]] = {}
        # token id -> [(name id, weight of that occurrence)], one table per subject group
        self._postings: tuple[list[list[tuple[int, float]]], list[list[tuple[int, float]]]] = (
            [],
            [],
        )
        self._by_identifier: tuple[dict[str, list[int]], dict[str, list[int]]] = ({}, {})
        self._group_names: tuple[list[int], list[int]] = ([], [])
        self._choice_cache: dict[frozenset[str], _Choices] = {}
        self._group_entries: tuple[list[int], list[int]] = ([], [])
        self._entry_names: list[list[int]] = []
        for index, entry in enumerate(self._entries):
            self._add(index, entry)
        self._choice_limit = len(self._vocabulary) + _EXTRA_CHOICES
        for token in self._vocabulary:  # warm the cache: most query tokens are known words
            self._choices(gate_variants(token))

    # --- building -------------------------------------------------------------------------

    def _add(self, index: int, entry: ListEntry) -> None:
        group = 0 if entry.kind == "person" else 1
        self._group_entries[group].append(index)
        self._entry_names.append([])
        seen: set[tuple[str, ...]] = set()
        for order, (text, weak) in enumerate(entry.names()):
            tokens = normalize_name(text, entry.kind)
            if not tokens or tokens in seen:
                continue
            seen.add(tokens)
            weights = tuple(self._weight(t) for t in tokens)
            name = _Name(
                entry=index,
                order=order,
                text=text,
                tokens=tokens,
                token_ids=tuple(self._token_id(t) for t in tokens),
                weights=weights,
                total=sum(weights),
                weak=weak or (group == 0 and order > 0 and len(tokens) == 1),
            )
            name_id = len(self._names)
            self._names.append(name)
            self._group_names[group].append(name_id)
            self._entry_names[index].append(name_id)
            postings = self._postings[group]
            for token_id, weight in zip(name.token_ids, weights, strict=True):
                postings[token_id].append((name_id, weight))
        for identifier in entry.identifiers:
            number = identifier.normalized
            if len(number) >= MIN_IDENTIFIER_LENGTH:
                holders = self._by_identifier[group].setdefault(number, [])
                if index not in holders:
                    holders.append(index)

    def _token_id(self, token: str) -> int:
        token_id = self._token_ids.get(token)
        if token_id is None:
            token_id = len(self._vocabulary)
            self._token_ids[token] = token_id
            self._vocabulary.append(token)
            for postings in self._postings:
                postings.append([])
            for variant in gate_variants(token):
                self._by_variant.setdefault(variant, []).append(token_id)
        return token_id

    def _weight(self, token: str) -> float:
        return self.policy.particle_weight if token in PARTICLES else 1.0

    # --- facts ----------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Number of list entries screened against."""
        return len(self._entries)

    @property
    def name_count(self) -> int:
        """Number of distinct name variants indexed."""
        return len(self._names)

    @property
    def token_count(self) -> int:
        """Number of distinct normalised tokens indexed."""
        return len(self._vocabulary)

    @property
    def entries(self) -> tuple[ListEntry, ...]:
        return self._entries

    # --- screening ------------------------------------------------------------------------

    def screen(self, subject: Subject, *, threshold: float | None = None) -> list[Hit]:
        """Hits at or above the threshold, best first, one per entry."""
        limit = self.threshold if threshold is None else threshold
        query = self._query(subject)
        group = 0 if query.person else 1
        similar = [self._similar_tokens(token) for token in query.tokens]
        reachable: dict[int, int] = {}  # token id -> bit mask of query tokens reaching it
        for position, found in enumerate(similar):
            for token_id in found:
                reachable[token_id] = reachable.get(token_id, 0) | (1 << position)
        # per candidate name: the listed weight query tokens can reach, and which tokens do
        reach_weight: dict[int, float] = {}
        reach_mask: dict[int, int] = {}
        postings = self._postings[group]
        for token_id, mask in reachable.items():
            for name_id, weight in postings[token_id]:
                if name_id in reach_weight:
                    reach_weight[name_id] += weight
                    reach_mask[name_id] |= mask
                else:
                    reach_weight[name_id] = weight
                    reach_mask[name_id] = mask
        by_identifier = self._identifier_entries(query, group)
        for entry_index in by_identifier:
            for name_id in self._entry_names[entry_index]:
                reach_weight.setdefault(name_id, 0.0)
                reach_mask.setdefault(name_id, 0)
        # The best a name could score: every reachable token matched perfectly, all
        # favourable evidence. Names whose ceiling is under the threshold are not scored.
        policy = self.policy
        listed_factor = policy.unmatched_listed_penalty
        query_term = _mask_terms(query.weights, policy.unmatched_query_penalty / query.total)
        floor = (
            limit
            - 100.0
            + policy.unmatched_listed_penalty
            + policy.unmatched_query_penalty
            - query.max_bonus
            - _EPSILON
        )
        weak_penalty = policy.weak_alias_penalty
        names = self._names
        best: dict[int, _Scored] = {}
        for name_id, reached in reach_weight.items():
            name = names[name_id]
            reached_terms = listed_factor * reached / name.total + query_term(reach_mask[name_id])
            if name.weak:
                reached_terms -= weak_penalty
            if reached_terms < floor and name.entry not in by_identifier:
                continue
            edges = [
                [
                    (j, s)
                    for j, token_id in enumerate(name.token_ids)
                    if (s := found.get(token_id)) is not None
                ]
                for found in similar
            ]
            self._keep_best(best, self._score_name(query, name_id, edges))
        return self._hits(query, best, by_identifier, limit)

    def brute_force(self, subject: Subject, *, threshold: float | None = None) -> list[Hit]:
        """The same scoring against every name of every entry, with no index and no pruning:
        slow, and the reference `screen` must agree with."""
        limit = self.threshold if threshold is None else threshold
        query = self._query(subject)
        group = 0 if query.person else 1
        minimum = self.policy.min_token_similarity
        best: dict[int, _Scored] = {}
        for name_id in self._group_names[group]:
            name = self._names[name_id]
            edges = []
            for token in query.tokens:
                options = []
                for j, listed in enumerate(name.tokens):
                    if compatible(token, listed):
                        similarity = self._similarity(token, listed)
                        if similarity >= minimum:
                            options.append((j, similarity))
                edges.append(options)
            self._keep_best(best, self._score_name(query, name_id, edges))
        by_identifier = {
            index
            for index in self._group_entries[group]
            if query.identifiers & {i.normalized for i in self._entries[index].identifiers}
        }
        return self._hits(query, best, by_identifier, limit)

    # --- scoring --------------------------------------------------------------------------

    def _query(self, subject: Subject) -> _Query:
        person = subject.kind == "person"
        shown = normalize_name(subject.name, "person" if person else "entity")
        tokens = tuple(sorted(shown))
        weights = tuple(self._weight(t) for t in tokens)
        countries = frozenset(c for c in (country_code(x) for x in subject.countries) if c)
        identifiers = frozenset(
            n
            for n in (normalize_identifier(x) for x in subject.identifiers)
            if len(n) >= MIN_IDENTIFIER_LENGTH
        )
        policy = self.policy
        dob_bonus = max(policy.dob_exact_bonus, policy.dob_consistent_bonus)
        max_bonus = (dob_bonus if subject.birth_date else 0.0) + (
            policy.country_match_bonus if countries else 0.0
        )
        return _Query(
            tokens=tokens,
            shown=shown,
            weights=weights,
            total=sum(weights) or 1.0,
            person=person,
            birth_date=subject.birth_date,
            countries=countries,
            identifiers=identifiers,
            max_bonus=max_bonus,
        )

    def _similar_tokens(self, token: str) -> dict[int, float]:
        """Vocabulary tokens phonetically compatible with `token` and similar enough, with
        their similarity. The comparisons run inside rapidfuzz; they give the same values
        as `_similarity` (the brute force's function), which the tests hold them to."""
        choices = self._choices(gate_variants(token))
        minimum = self.policy.min_token_similarity
        found: dict[int, float] = {}
        # rapidfuzz's cutoff is a fast bound, not an exact ">=": ask a hair lower, then filter
        for _, similarity, k in extract(
            token,
            choices.tokens,
            scorer=_jaro_winkler,
            score_cutoff=minimum - _EPSILON,
            limit=None,
        ):
            if similarity >= minimum:
                found[choices.ids[k]] = similarity
        bare_token = strip_article(token)
        if bare_token != token:  # the query token has an article: every pair has a bare form
            bare_ids, bare_tokens = choices.ids, choices.all_bare
        else:  # only listed tokens with an article have one
            bare_ids, bare_tokens = choices.bare_ids, choices.bare
        if bare_tokens:
            discount = self.policy.article_discount
            for _, bare, k in extract(
                bare_token,
                bare_tokens,
                scorer=_jaro_winkler,
                score_cutoff=minimum / discount - _EPSILON,
                limit=None,
            ):
                token_id = bare_ids[k]
                similarity = max(found.get(token_id, 0.0), discount * bare)
                if similarity >= minimum:
                    found[token_id] = similarity
        return found

    def _choices(self, variants: frozenset[str]) -> _Choices:
        """The vocabulary tokens compatible with a token of these gate variants, cached per
        variant set (tokens that share keys share it)."""
        cached = self._choice_cache.get(variants)
        if cached is not None:
            return cached
        ids = sorted({i for v in variants for i in self._by_variant.get(v, ())})
        tokens = [self._vocabulary[i] for i in ids]
        bare_ids = [i for i, t in zip(ids, tokens, strict=True) if strip_article(t) != t]
        choices = _Choices(
            ids=ids,
            tokens=tokens,
            all_bare=[strip_article(t) for t in tokens],
            bare_ids=bare_ids,
            bare=[strip_article(self._vocabulary[i]) for i in bare_ids],
        )
        if len(self._choice_cache) < self._choice_limit:
            self._choice_cache[variants] = choices
        return choices

    def _similarity(self, a: str, b: str) -> float:
        """Jaro-Winkler; for a token with a fused Arabic article, also the similarity without
        it, discounted (QAIDA ~ ALQAIDA), whichever is higher."""
        similarity: float = _jaro_winkler(a, b)
        bare_a, bare_b = strip_article(a), strip_article(b)
        if bare_a != a or bare_b != b:
            bare: float = _jaro_winkler(bare_a, bare_b)
            similarity = max(similarity, self.policy.article_discount * bare)
        return similarity

    def _score_name(
        self, query: _Query, name_id: int, edges: list[list[tuple[int, float]]]
    ) -> _Scored:
        name = self._names[name_id]
        pairs = _assign(edges, query.weights, name.weights)
        policy = self.policy
        matched_listed = sum(name.weights[j] for _, j, _ in pairs)
        matched_query = sum(query.weights[i] for i, _, _ in pairs)
        mean = sum(s * name.weights[j] for _, j, s in pairs) / matched_listed if pairs else 0.0
        listed_penalty = policy.unmatched_listed_penalty * max(
            0.0, 1.0 - matched_listed / name.total
        )
        query_penalty = policy.unmatched_query_penalty * max(0.0, 1.0 - matched_query / query.total)
        weak_penalty = policy.weak_alias_penalty if name.weak else 0.0
        score = max(0.0, 100.0 * mean - listed_penalty - query_penalty - weak_penalty)
        return _Scored(name_id, score, pairs, listed_penalty, query_penalty, weak_penalty)

    def _keep_best(self, best: dict[int, _Scored], scored: _Scored) -> None:
        entry = self._names[scored.name].entry
        current = best.get(entry)
        if (
            current is None
            or scored.score > current.score
            or (
                scored.score == current.score
                and self._names[scored.name].order < self._names[current.name].order
            )
        ):
            best[entry] = scored

    def _identifier_entries(self, query: _Query, group: int) -> set[int]:
        found: set[int] = set()
        for number in query.identifiers:
            found.update(self._by_identifier[group].get(number, ()))
        return found

    def _hits(
        self, query: _Query, best: dict[int, _Scored], by_identifier: set[int], limit: float
    ) -> list[Hit]:
        hits = []
        for entry_index, scored in best.items():
            identified = entry_index in by_identifier
            if not scored.pairs and not identified:
                continue
            entry = self._entries[entry_index]
            evidence, score = self._evidence(query, entry, scored.score, identified)
            if score + _EPSILON < limit:
                continue
            hits.append(self._hit(query, entry, scored, evidence, score))
        hits.sort(key=lambda h: (-h.score, h.entry.source, h.entry.entry_id))
        return hits

    def _evidence(
        self, query: _Query, entry: ListEntry, name_score: float, identified: bool
    ) -> tuple[tuple[Evidence, ...], float]:
        policy = self.policy
        items = [self._dob_evidence(query, entry), self._country_evidence(query, entry)]
        score = name_score + sum(item.effect for item in items)
        score = min(100.0, max(0.0, score))
        if identified:
            lift = max(0.0, policy.identifier_floor - score)
            items.append(Evidence("identifier", "supports", "an identifier number matches", lift))
            score += lift
        elif query.identifiers:
            items.append(Evidence("identifier", "absent", "no listed identifier matches"))
        else:
            items.append(Evidence("identifier", "absent", "no identifier given"))
        return tuple(items), score

    def _dob_evidence(self, query: _Query, entry: ListEntry) -> Evidence:
        policy = self.policy
        if query.birth_date is None:
            return Evidence("dob", "absent", "no date of birth given")
        if not entry.birth_dates:
            return Evidence("dob", "absent", "the list gives no date of birth")
        given = query.birth_date
        listed = max(entry.birth_dates, key=lambda d: d.compare(given).rank)
        agreement = listed.compare(given)
        detail = f"given {given.isoformat()}, listed {listed}"
        if agreement is DateAgreement.EXACT:
            return Evidence("dob", "supports", f"{detail}: same day", policy.dob_exact_bonus)
        if agreement is DateAgreement.CONSISTENT:
            return Evidence("dob", "supports", f"{detail}: consistent", policy.dob_consistent_bonus)
        if agreement is DateAgreement.NEAR:
            return Evidence(
                "dob", "contradicts", f"{detail}: close, not equal", -policy.dob_near_penalty
            )
        return Evidence("dob", "contradicts", f"{detail}: different", -policy.dob_mismatch_penalty)

    def _country_evidence(self, query: _Query, entry: ListEntry) -> Evidence:
        if not query.countries:
            return Evidence("country", "absent", "no country given")
        if not entry.countries:
            return Evidence("country", "absent", "the list gives no country")
        shared = sorted(query.countries & set(entry.countries))
        if shared:
            return Evidence(
                "country",
                "supports",
                f"{', '.join(shared)} in common",
                self.policy.country_match_bonus,
            )
        return Evidence(
            "country",
            "contradicts",
            f"given {', '.join(sorted(query.countries))}, listed {', '.join(entry.countries)}",
            -self.policy.country_mismatch_penalty,
        )

    def _hit(
        self,
        query: _Query,
        entry: ListEntry,
        scored: _Scored,
        evidence: tuple[Evidence, ...],
        score: float,
    ) -> Hit:
        name = self._names[scored.name]
        pairs = sorted(scored.pairs, key=lambda p: p[1])
        matched_listed = {j for _, j, _ in pairs}
        matched_query = {i for i, _, _ in pairs}
        explanation = Explanation(
            query_tokens=query.shown,
            listed_tokens=name.tokens,
            matches=tuple(
                TokenMatch(query.tokens[i], name.tokens[j], round(s, 4)) for i, j, s in pairs
            ),
            unmatched_listed=tuple(t for j, t in enumerate(name.tokens) if j not in matched_listed),
            unmatched_listed_penalty=round(scored.listed_penalty, 4),
            unmatched_query=tuple(t for i, t in enumerate(query.tokens) if i not in matched_query),
            unmatched_query_penalty=round(scored.query_penalty, 4),
            weak_alias_penalty=scored.weak_penalty,
            name_score=round(scored.score, 4),
            evidence=evidence,
            score=round(score, 4),
        )
        return Hit(entry=entry, score=score, matched_name=name.text, explanation=explanation)


def _mask_terms(weights: tuple[float, ...], factor: float) -> Callable[[int], float]:
    """factor * (summed weight of the query tokens in a bit mask), tabulated for short
    queries."""
    if len(weights) > 12:
        return lambda mask: factor * sum(w for i, w in enumerate(weights) if mask >> i & 1)
    table = [0.0] * (1 << len(weights))
    for mask in range(1, len(table)):
        low = mask & -mask
        table[mask] = table[mask ^ low] + weights[low.bit_length() - 1]
    scaled = [factor * value for value in table]
    return scaled.__getitem__


def _assign(
    edges: list[list[tuple[int, float]]],
    query_weights: tuple[float, ...],
    listed_weights: tuple[float, ...],
) -> tuple[tuple[int, int, float], ...]:
    """Pair query tokens (by index) with listed tokens one to one, maximising the summed
    similarity weighted by both tokens' weights. Exact for short queries."""
    options: list[list[tuple[float, int, float]]] = []
    for i, found in enumerate(edges):
        ranked = sorted(
            ((s * (query_weights[i] + listed_weights[j]), j, s) for j, s in found),
            key=lambda o: (-o[0], o[1]),
        )
        options.append(ranked)
    chosen = [(i, ranked[0][1], ranked[0][2]) for i, ranked in enumerate(options) if ranked]
    if len({j for _, j, _ in chosen}) == len(chosen):
        return tuple(chosen)  # every query token's first choice is free: optimal
    if len(edges) > _EXACT_ASSIGNMENT_LIMIT:
        return _greedy(options)
    ceilings = [0.0] * (len(options) + 1)
    for i in range(len(options) - 1, -1, -1):
        ceilings[i] = ceilings[i + 1] + (options[i][0][0] if options[i] else 0.0)
    best_gain = -1.0
    best: tuple[tuple[int, int, float], ...] = ()

    def search(i: int, used: int, gain: float, picked: tuple[tuple[int, int, float], ...]) -> None:
        nonlocal best_gain, best
        if gain + ceilings[i] <= best_gain:
            return
        if i == len(options):
            best_gain, best = gain, picked
            return
        for value, j, s in options[i]:
            if not used >> j & 1:
                search(i + 1, used | 1 << j, gain + value, (*picked, (i, j, s)))
        search(i + 1, used, gain, picked)

    search(0, 0, 0.0, ())
    return best


def _greedy(options: list[list[tuple[float, int, float]]]) -> tuple[tuple[int, int, float], ...]:
    ranked = sorted((value, i, j, s) for i, found in enumerate(options) for value, j, s in found)
    ranked.sort(key=lambda o: (-o[0], o[1], o[2]))
    used_query: set[int] = set()
    used_listed: set[int] = set()
    picked = []
    for _, i, j, s in ranked:
        if i not in used_query and j not in used_listed:
            used_query.add(i)
            used_listed.add(j)
            picked.append((i, j, s))
    return tuple(sorted(picked))
