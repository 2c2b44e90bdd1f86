"""Master-key rotation: re-wrap every stored value's data key under the active master key.

Only the small wrapped data key changes; the encrypted data itself is not rewritten. Work
goes in batches, each in its own transaction, so a crash part-way loses nothing: values not
yet re-wrapped still open with the old key, which the key ring keeps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Column, Table, select, update

from finplat.platform.crypto.fields import FieldCipher
from finplat.platform.db.engine import Database


@dataclass(frozen=True)
class EncryptedColumn:
    """A column of `FieldCipher` tokens, found by its table's primary key."""

    table: Table
    key: Column[object]
    value: Column[object]
    context: str

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.value.name}"


async def rewrap_column(
    database: Database, cipher: FieldCipher, column: EncryptedColumn, *, batch: int = 500
) -> int:
    """Re-wrap one column; returns how many values changed."""
    changed = 0
    after: object = None
    while True:
        async with database.session() as session, session.begin():
            query = select(column.key, column.value).order_by(column.key).limit(batch)
            if after is not None:
                query = query.where(column.key > after)
            rows = (await session.execute(query)).all()
            for key, value in rows:
                if value is None:
                    continue
                rewrapped = cipher.rewrap(str(value), context=column.context)
                if rewrapped != value:
                    await session.execute(
                        update(column.table)
                        .where(column.key == key)
                        .values({column.value.name: rewrapped})
                    )
                    changed += 1
        if len(rows) < batch:
            return changed
        after = rows[-1][0]


async def rewrap_all(
    database: Database, cipher: FieldCipher, columns: Iterable[EncryptedColumn]
) -> dict[str, int]:
    return {column.name: await rewrap_column(database, cipher, column) for column in columns}
