"""The real lists, loaded once per session; the screener built over them."""

from __future__ import annotations

from pathlib import Path

import pytest

from finplat.onboarding.screening import ListEntry, Screener, load_ofac_csv, load_un_xml

ROOT = Path(__file__).resolve().parents[3]
SANCTIONS = ROOT / "data" / "sanctions"
UN_XML = SANCTIONS / "un" / "UN_consolidated.xml"
OFAC_DIR = SANCTIONS / "ofac_csv_excerpt"
OPENSANCTIONS_SAMPLE = Path(__file__).resolve().parent / "opensanctions_sample.jsonl"


@pytest.fixture(scope="session")
def un_entries() -> list[ListEntry]:
    return list(load_un_xml(UN_XML))


@pytest.fixture(scope="session")
def ofac_entries() -> list[ListEntry]:
    return list(load_ofac_csv(OFAC_DIR))


@pytest.fixture(scope="session")
def by_key(un_entries: list[ListEntry], ofac_entries: list[ListEntry]) -> dict[str, ListEntry]:
    return {entry.key: entry for entry in [*un_entries, *ofac_entries]}


@pytest.fixture(scope="session")
def screener(un_entries: list[ListEntry], ofac_entries: list[ListEntry]) -> Screener:
    return Screener([*un_entries, *ofac_entries])
