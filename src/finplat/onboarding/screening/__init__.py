"""Sanctions and PEP screening engine: list loaders, name normalisation and an indexed,
explainable name matcher. Pure Python (standard library, rapidfuzz, anyascii, kernel): the
database tables, API and CLI around it live in `finplat.onboarding`.

    source, entries = load_file(path)
    screener = Screener(entries, threshold=85.0)
    for hit in screener.screen(Subject("Bosco Ntaganda", birth_date=date(1973, 11, 5))):
        print(hit.score, hit.entry.key, hit.explanation.describe())
"""

from finplat.onboarding.screening.countries import country_code
from finplat.onboarding.screening.loaders import (
    LoadReport,
    load_file,
    load_ofac_csv,
    load_opensanctions_jsonl,
    load_un_xml,
)
from finplat.onboarding.screening.matcher import ScoringPolicy, Screener
from finplat.onboarding.screening.model import (
    DateAgreement,
    EntryKind,
    Evidence,
    Explanation,
    Hit,
    Identifier,
    ListEntry,
    PartialDate,
    Subject,
    TokenMatch,
    normalize_identifier,
)
from finplat.onboarding.screening.normalize import compatible, normalize_name, phonetic_key

__all__ = [
    "DateAgreement",
    "EntryKind",
    "Evidence",
    "Explanation",
    "Hit",
    "Identifier",
    "ListEntry",
    "LoadReport",
    "PartialDate",
    "ScoringPolicy",
    "Screener",
    "Subject",
    "TokenMatch",
    "compatible",
    "country_code",
    "load_file",
    "load_ofac_csv",
    "load_opensanctions_jsonl",
    "load_un_xml",
    "normalize_identifier",
    "normalize_name",
    "phonetic_key",
]
