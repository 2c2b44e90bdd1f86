"""Sanctions and PEP screening around the engine in `onboarding.screening`: lists stored in
the database, the in-memory index, hits as review tasks, and decisions on them.

A hit is keyed by (customer, list entry, entry fingerprint): a false positive is not raised
again for the same entry unless the list changes that entry.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from finplat.identity import Principal, record_audit
from finplat.kernel import BusinessRuleViolation, InvalidInput, NotFound, Unavailable, new_id
from finplat.onboarding.cases import case_by_id, read_application
from finplat.onboarding.context import OnboardingKit
from finplat.onboarding.domain import Application
from finplat.onboarding.events import ScreeningHitRaised
from finplat.onboarding.screening import Hit, ListEntry, Screener, Subject
from finplat.onboarding.screening import load_file as load_list_file
from finplat.onboarding.store import cases, screening_entries, screening_hits, screening_loads
from finplat.platform.db import Database, UnitOfWork

log = logging.getLogger(__name__)

PEP_TOPICS = frozenset({"role.pep", "role.rca", "pep"})


def entry_to_json(entry: ListEntry) -> dict[str, Any]:
    return entry.to_dict()


def entry_from_json(data: dict[str, Any]) -> ListEntry:
    return ListEntry.from_dict(data)


def lists_loaded(kit: OnboardingKit) -> bool:
    screener = kit.screening.screener
    return screener is not None and screener.size > 0


def hit_kind(entry: ListEntry) -> str:
    return "pep" if PEP_TOPICS & {p.lower() for p in entry.programs} else "sanctions"


@dataclass(frozen=True)
class LoadSummary:
    source: str
    entries: int
    added: int
    changed: int
    removed: int


async def store_list(
    database: Database, source: str, entries: list[ListEntry], file_sha256: str, now: datetime
) -> LoadSummary:
    """Upsert a whole list: new and changed entries are written, missing ones deactivated."""
    async with database.session() as session, session.begin():
        existing = {
            row.entry_id: row.fingerprint
            for row in await session.execute(
                select(screening_entries.c.entry_id, screening_entries.c.fingerprint)
                .where(screening_entries.c.source == source)
                .where(screening_entries.c.active.is_(True))
            )
        }
        added = changed = 0
        seen: set[str] = set()
        for entry in entries:
            seen.add(entry.entry_id)
            values = {
                "fingerprint": entry.fingerprint,
                "kind": entry.kind,
                "primary_name": entry.primary_name[:512],
                "data": entry_to_json(entry),
                "active": True,
                "updated_at": now,
            }
            if entry.entry_id not in existing:
                exists = await session.scalar(
                    select(screening_entries.c.entry_id)
                    .where(screening_entries.c.source == source)
                    .where(screening_entries.c.entry_id == entry.entry_id)
                )
                if exists is None:
                    await session.execute(
                        insert(screening_entries).values(
                            source=source, entry_id=entry.entry_id, **values
                        )
                    )
                else:
                    await _update_entry(session, source, entry.entry_id, values)
                added += 1
            elif existing[entry.entry_id] != entry.fingerprint:
                await _update_entry(session, source, entry.entry_id, values)
                changed += 1
        removed = sorted(set(existing) - seen)
        for entry_id in removed:
            await _update_entry(session, source, entry_id, {"active": False, "updated_at": now})
        await session.execute(
            insert(screening_loads).values(
                source=source,
                file_sha256=file_sha256,
                entries=len(entries),
                added=added,
                changed=changed,
                removed=len(removed),
                loaded_at=now,
            )
        )
    return LoadSummary(source, len(entries), added, changed, len(removed))


async def _update_entry(session: Any, source: str, entry_id: str, values: dict[str, Any]) -> None:
    await session.execute(
        update(screening_entries)
        .where(screening_entries.c.source == source)
        .where(screening_entries.c.entry_id == entry_id)
        .values(**values)
    )


def _read_list(path: Path) -> tuple[str, list[ListEntry], str]:
    if not path.exists():
        raise InvalidInput(f"{path} does not exist", code="list_not_found")
    source, entries = load_list_file(path)
    return source, entries, _digest(path)


async def load_list(kit: OnboardingKit, path: Path) -> LoadSummary:
    """Load a list file (OFAC CSV directory, UN XML or OpenSanctions JSON lines)."""
    source, entries, digest = await asyncio.to_thread(_read_list, path)
    summary = await store_list(kit.uows.database, source, entries, digest, kit.clock.now())
    await rebuild_index(kit)
    return summary


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    for file in files:
        if file.is_file():
            sha.update(file.read_bytes())
    return sha.hexdigest()


async def active_entries(database: Database) -> list[ListEntry]:
    async with database.session(read_only=True) as session, session.begin():
        rows = await session.scalars(
            select(screening_entries.c.data).where(screening_entries.c.active.is_(True))
        )
        return [entry_from_json(dict(data)) for data in rows]


async def rebuild_index(kit: OnboardingKit) -> int:
    entries = await active_entries(kit.uows.database)
    kit.screening.screener = Screener(entries, threshold=kit.policy.screening_threshold)
    return len(entries)


def _subject(application: Application) -> Subject:
    countries = tuple(dict.fromkeys([application.nationality, application.residence_country]))
    return Subject(
        name=application.full_name, birth_date=application.birth_date, countries=countries
    )


async def screen_user(
    kit: OnboardingKit,
    uow: UnitOfWork,
    user_id: uuid.UUID,
    case_id: uuid.UUID | None,
    application: Application,
) -> list[uuid.UUID]:
    """Screen one customer; store each new hit as an open review task. Returns new hit ids."""
    screener = kit.screening.screener
    if screener is None:
        raise Unavailable(
            "screening is not available right now; try again shortly", code="screening_unavailable"
        )
    new_ids = []
    for hit in screener.screen(_subject(application)):
        hit_id = await _record_hit(uow, user_id, case_id, hit)
        if hit_id is not None:
            new_ids.append(hit_id)
    return new_ids


async def _record_hit(
    uow: UnitOfWork, user_id: uuid.UUID, case_id: uuid.UUID | None, hit: Hit
) -> uuid.UUID | None:
    entry = hit.entry
    known = await uow.session.scalar(
        select(screening_hits.c.id)
        .where(screening_hits.c.user_id == user_id)
        .where(screening_hits.c.source == entry.source)
        .where(screening_hits.c.entry_id == entry.entry_id)
        .where(screening_hits.c.fingerprint == entry.fingerprint)
    )
    if known is not None:
        return None
    hit_id = new_id()
    explanation = hit.explanation.to_dict()
    try:
        async with uow.session.begin_nested():
            await uow.session.execute(
                insert(screening_hits).values(
                    id=hit_id,
                    user_id=user_id,
                    case_id=case_id,
                    source=entry.source,
                    entry_id=entry.entry_id,
                    fingerprint=entry.fingerprint,
                    kind=hit_kind(entry),
                    score=round(float(hit.score), 2),
                    matched_name=hit.matched_name[:512],
                    explanation=explanation,
                    status="open",
                    created_at=uow.clock.now(),
                )
            )
    except IntegrityError:
        return None
    await uow.publish(
        ScreeningHitRaised(
            hit_id=str(hit_id),
            user_id=str(user_id),
            source=entry.source,
            entry_id=entry.entry_id,
            score=f"{float(hit.score):.2f}",
        )
    )
    return hit_id


@dataclass(frozen=True)
class HitView:
    id: uuid.UUID
    user_id: uuid.UUID
    case_id: uuid.UUID | None
    source: str
    entry_id: str
    kind: str
    score: float
    matched_name: str
    explanation: dict[str, Any]
    status: str
    created_at: datetime
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    decision_reason: str | None


def hit_view(row: Any) -> HitView:
    return HitView(
        id=row.id,
        user_id=row.user_id,
        case_id=row.case_id,
        source=row.source,
        entry_id=row.entry_id,
        kind=row.kind,
        score=row.score,
        matched_name=row.matched_name,
        explanation=dict(row.explanation),
        status=row.status,
        created_at=row.created_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
    )


async def hits_of_user(uow: UnitOfWork, user_id: uuid.UUID) -> list[HitView]:
    rows = await uow.session.execute(
        select(screening_hits)
        .where(screening_hits.c.user_id == user_id)
        .order_by(screening_hits.c.created_at.desc())
    )
    return [hit_view(row) for row in rows]


async def decide_hit(
    uow: UnitOfWork,
    principal: Principal,
    hit_id: uuid.UUID,
    *,
    true_match: bool,
    reason: str,
    ip: str | None,
) -> HitView:
    row = (
        await uow.session.execute(
            select(screening_hits).where(screening_hits.c.id == hit_id).with_for_update()
        )
    ).one_or_none()
    if row is None:
        raise NotFound("no such screening hit", code="hit_not_found")
    if row.status != "open":
        raise BusinessRuleViolation(
            f"this hit was already decided ({row.status})", code="hit_decided"
        )
    status = "true_match" if true_match else "false_positive"
    await uow.session.execute(
        update(screening_hits)
        .where(screening_hits.c.id == hit_id)
        .values(
            status=status,
            decided_by=principal.user_id,
            decided_at=uow.clock.now(),
            decision_reason=reason,
        )
    )
    await record_audit(
        uow,
        action=f"screening.hit_{status}",
        actor_id=str(principal.user_id),
        actor_type=principal.kind,
        target_type="screening_hit",
        target_id=str(hit_id),
        ip=ip,
        details={"entry": f"{row.source}:{row.entry_id}", "reason": reason},
    )
    updated = (
        await uow.session.execute(select(screening_hits).where(screening_hits.c.id == hit_id))
    ).one()
    return hit_view(updated)


async def count_screenable(kit: OnboardingKit) -> int:
    async with kit.uows(read_only=True) as uow:
        return int(
            await uow.session.scalar(
                select(func.count())
                .select_from(cases)
                .where(cases.c.application_encrypted.is_not(None))
            )
            or 0
        )


async def rescreen_all(
    kit: OnboardingKit, *, progress: Callable[[int], None] | None = None
) -> tuple[int, int]:
    """Screen every customer with an application against the current index, each in its own
    transaction. Returns (customers screened, new hits)."""
    async with kit.uows(read_only=True) as uow:
        ids = list(
            await uow.session.scalars(
                select(cases.c.id).where(cases.c.application_encrypted.is_not(None))
            )
        )
    screened = new_hits = 0
    for case_id in ids:
        async with kit.uows() as uow:
            case = await case_by_id(uow, case_id)
            application = read_application(kit, case)
            if application is not None:
                new_hits += len(await screen_user(kit, uow, case.user_id, case.id, application))
                screened += 1
        if progress is not None:
            progress(1)
    return screened, new_hits
