"""Sanctions screening throughput, latency and recall, on the real UN list and OFAC excerpt.

In one run, on one core, with the same deterministic queries (seeded): about 20% are listed
names perturbed the way customers and clerks perturb them (words reordered, diacritics dropped
or added, one typing error), the rest synthetic common names. It measures:

- screen: the indexed `Screener.screen` (screenings per second, p50/p99 latency);
- brute force: `Screener.brute_force`, the same scoring against every name with no index
  (the baseline), on the first queries only when N is large;
- recall of `screen` against `brute_force` on those queries: the share of the oracle's
  (query, entry) hits that the index also returns, and any hit it returns that the oracle
  does not (there should be none);
- how often a perturbed listed name finds its entry, and how often a synthetic name hits.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from finplat.onboarding.screening import ListEntry, Screener, Subject, load_file

ROOT = Path(__file__).resolve().parents[1]
UN_LIST = ROOT / "data" / "sanctions" / "un" / "UN_consolidated.xml"
OFAC_LIST = ROOT / "data" / "sanctions" / "ofac_csv_excerpt"
SEED = 20260227
BRUTE_FORCE_MAX = 500


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words(
    """
    James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Susan Maria
    Jose Carlos Ana Luis Sofia Pedro Lucia Wei Li Jun Mei Hiroshi Yuki Kenji Aiko Olga Ivan
    Sergei Natalia Pierre Claire Hans Greta Giulia Marco Priya Rahul Anil Deepa Fatima Omar
    Leila Youssef Amara Kwame Chidi Ngozi Sven Ingrid
    """
)
LAST_NAMES = _words(
    """
    Smith Johnson Williams Brown Jones Miller Davis Wilson Taylor Anderson Thomas Moore Garcia
    Martinez Rodriguez Lopez Gonzalez Perez Sanchez Ramirez Zhang Wang Chen Liu Yang Tanaka
    Suzuki Sato Watanabe Petrov Ivanova Smirnov Dubois Lefevre Moreau Muller Schmidt Schneider
    Rossi Bianchi Ferrari Sharma Patel Gupta Singh Mensah Okafor Nwosu Larsen Johansson
    Nielsen Kowalski Nowak
    """
)
_ACCENTS = {"A": "Á", "E": "É", "I": "Í", "O": "Ö", "U": "Ü", "N": "Ñ", "C": "Ç"}
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Query:
    subject: Subject
    source_key: str | None  # the listed entry a perturbed name came from


def _perturb(name: str, rng: random.Random) -> str:
    words = name.split()
    rng.shuffle(words)
    text = " ".join(words).upper()
    if rng.random() < 0.5:  # add diacritics to a few letters
        text = "".join(_ACCENTS.get(ch, ch) if rng.random() < 0.3 else ch for ch in text)
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if len(letters) > 6:  # one typing error, not in the first letter of the name
        at = rng.choice(letters[1:])
        kind = rng.randrange(3)
        if kind == 0:
            text = text[:at] + rng.choice(_ALPHABET) + text[at + 1 :]
        elif kind == 1:
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + rng.choice(_ALPHABET) + text[at:]
    return text if rng.random() < 0.5 else text.title()


def make_queries(entries: list[ListEntry], n: int, seed: int = SEED) -> list[Query]:
    """N deterministic queries: about 20% perturbed listed person names, 80% common names."""
    rng = random.Random(seed)
    people = [e for e in entries if e.kind == "person"]
    queries = []
    for _ in range(n):
        birth = date(rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28))
        if rng.random() < 0.2:
            entry = rng.choice(people)
            name = rng.choice((entry.primary_name, *entry.aliases))
            queries.append(Query(Subject(_perturb(name, rng)), entry.key))
        else:
            words = [rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)]
            if rng.random() < 0.3:
                words.insert(1, rng.choice(FIRST_NAMES))
            with_dob = rng.random() < 0.5
            subject = Subject(" ".join(words), birth_date=birth if with_dob else None)
            queries.append(Query(subject, None))
    return queries


def _timed(screen: object, queries: list[Query]) -> tuple[list[float], list[set[str]]]:
    latencies: list[float] = []
    results: list[set[str]] = []
    call = screen  # a bound method: Screener.screen or Screener.brute_force
    assert callable(call)
    for query in queries:
        started = time.perf_counter_ns()
        hits = call(query.subject)
        latencies.append((time.perf_counter_ns() - started) / 1e6)
        results.append({hit.entry.key for hit in hits})
    return latencies, results


def _line(label: str, latencies: list[float]) -> str:
    total = sum(latencies) / 1000
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{label:<12} {len(latencies):>6} queries  {len(latencies) / total:>9.0f} screenings/s"
        f"   p50 {p50:>8.3f} ms   p99 {p99:>8.3f} ms"
    )


def run(n: int) -> None:
    """Synchronous. n = number of queries for `screen` (brute force runs on at most 500)."""
    started = time.perf_counter()
    _, un = load_file(UN_LIST)
    _, ofac = load_file(OFAC_LIST)
    loaded = time.perf_counter()
    entries = un + ofac
    screener = Screener(entries)
    built = time.perf_counter()
    queries = make_queries(entries, n)
    print(f"screening benchmark: {n} queries, seed {SEED}, one core")
    print(
        f"lists: {len(un)} UN + {len(ofac)} OFAC entries, {screener.name_count} names, "
        f"{screener.token_count} distinct tokens; load {loaded - started:.2f} s, "
        f"index build {built - loaded:.2f} s; threshold {screener.threshold}"
    )
    screen_times, screen_hits = _timed(screener.screen, queries)
    print(_line("screen", screen_times))
    brute_n = min(n, BRUTE_FORCE_MAX)
    brute_times, brute_hits = _timed(screener.brute_force, queries[:brute_n])
    note = f" (first {brute_n} queries only)" if brute_n < n else ""
    print(_line("brute force", brute_times) + note)
    same = statistics.mean(brute_times) / statistics.mean(screen_times[:brute_n])
    print(f"{'':<12} screen is {same:.0f}x faster per query than brute force")
    oracle = sum(len(h) for h in brute_hits)
    found = sum(len(b & s) for b, s in zip(brute_hits, screen_hits, strict=False))
    extra = sum(len(s - b) for b, s in zip(brute_hits, screen_hits, strict=False))
    recall = found / oracle if oracle else 1.0
    print(
        f"recall of screen vs brute force on {brute_n} queries: {recall:.4f} "
        f"({found}/{oracle} oracle hits found, {extra} hits the oracle does not have)"
    )
    listed = [(q, h) for q, h in zip(queries, screen_hits, strict=True) if q.source_key]
    caught = sum(1 for q, h in listed if q.source_key in h)
    common = [h for q, h in zip(queries, screen_hits, strict=True) if not q.source_key]
    flagged = sum(1 for h in common if h)
    print(
        f"perturbed listed names found: {caught}/{len(listed)} "
        f"({caught / max(1, len(listed)):.1%}); synthetic names with any hit: "
        f"{flagged}/{len(common)} ({flagged / max(1, len(common)):.2%})"
    )


if __name__ == "__main__":
    run(5000)
