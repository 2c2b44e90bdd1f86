"""Demo accounts for `finplat demo` (never in production): a customer and two staff members
with MFA, so the maker-checker flow can be tried at once. Idempotent."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import insert

from finplat.identity import users as user_store
from finplat.identity.accounts import create_user
from finplat.identity.context import IdentityKit
from finplat.identity.domain import Role
from finplat.identity.store import TOTP_CONTEXT, totp_factors

DEMO_PASSWORD = "Trade-Safely-2026!"  # noqa: S105 - published demo credential


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: Role
    with_mfa: bool


DEMO_ACCOUNTS = (
    DemoAccount("demo@finplat.local", Role.CUSTOMER, with_mfa=False),
    DemoAccount("admin@finplat.local", Role.ADMIN, with_mfa=True),
    DemoAccount("compliance@finplat.local", Role.COMPLIANCE, with_mfa=True),
)


def demo_totp_secret(seed: bytes, email: str) -> str:
    """The demo staff's TOTP secret, derived from the instance secret so that every run of
    `finplat demo` can print it again."""
    digest = hmac.new(seed, f"demo-totp:{email}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode()


def _describe(account: DemoAccount, seed: bytes) -> str:
    line = f"{account.email} ({account.role}) password {DEMO_PASSWORD!r}"
    if account.with_mfa:
        secret = demo_totp_secret(seed, account.email)
        line += f", TOTP secret {secret} (add it to an authenticator app)"
    return line


async def seed_demo_accounts(kit: IdentityKit, seed: bytes) -> list[str]:
    """Create the demo accounts that do not exist yet; returns a line per account."""
    lines = []
    for account in DEMO_ACCOUNTS:
        async with kit.uows() as uow:
            existing = await user_store.by_email_index(uow.session, kit.email_index(account.email))
            if existing is not None:
                lines.append(_describe(account, seed) + " (exists)")
                continue
            created = await create_user(
                kit,
                uow,
                email=account.email,
                password=DEMO_PASSWORD,
                roles=frozenset({account.role}),
                verified=True,
                actor_type="system",
            )
            if account.with_mfa:
                secret = demo_totp_secret(seed, account.email)
                now = uow.clock.now()
                await uow.session.execute(
                    insert(totp_factors).values(
                        user_id=created.user_id,
                        secret_encrypted=kit.cipher.encrypt(secret, context=TOTP_CONTEXT),
                        created_at=now,
                        confirmed_at=now,
                    )
                )
            lines.append(_describe(account, seed) + " (created)")
    return lines
