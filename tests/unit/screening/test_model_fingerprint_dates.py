from finplat.onboarding.screening import ListEntry, PartialDate


def test_an_entry_with_full_and_partial_birth_dates_has_a_fingerprint() -> None:
    entry = ListEntry(
        source="un",
        entry_id="X1",
        kind="person",
        primary_name="SOME BODY",
        birth_dates=(PartialDate(1970, 5, 3), PartialDate(1971), PartialDate(1969, 2)),
    )
    reordered = ListEntry(
        source="un",
        entry_id="X1",
        kind="person",
        primary_name="SOME BODY",
        birth_dates=(PartialDate(1971), PartialDate(1969, 2), PartialDate(1970, 5, 3)),
    )
    assert entry.fingerprint == reordered.fingerprint
