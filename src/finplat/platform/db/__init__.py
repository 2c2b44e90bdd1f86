"""Database access: async engine, unit of work, shared table metadata and migrations."""

from finplat.platform.db.engine import Database
from finplat.platform.db.schema import Base, UtcDateTime, metadata
from finplat.platform.db.uow import EventRecorder, UnitOfWork, UnitOfWorkFactory

__all__ = [
    "Base",
    "Database",
    "EventRecorder",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UtcDateTime",
    "metadata",
]
