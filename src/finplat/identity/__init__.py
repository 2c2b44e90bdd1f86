"""identity domain: users, credentials, sessions and tokens, MFA, roles and permissions, API
keys and the audit log.

This package is its public face: other domains import only from here (or consume its events).
Routes declare access with `require(Permission.X)`; staff actions are recorded with
`record_audit`; sensitive staff actions go through `request_approval` (maker-checker).
"""

from finplat.identity.access import (
    authenticate_credentials,
    authorize,
    identity_kit,
    request_origin,
    require,
)
from finplat.identity.api import identity_routers
from finplat.identity.audit_store import record_audit, verify_audit_log
from finplat.identity.context import IdentityKit, Origin
from finplat.identity.demo import seed_demo_accounts
from finplat.identity.domain import (
    ROLE_PERMISSIONS,
    ApiKeyScope,
    Approval,
    Permission,
    Principal,
    Role,
    SensitiveAction,
)
from finplat.identity.events import IDENTITY_EVENTS
from finplat.identity.roles import APPROVAL_HANDLERS, request_approval
from finplat.identity.setup import build_identity_kit, derive_secret, load_key_ring
from finplat.identity.store import encrypted_columns

__all__ = [
    "APPROVAL_HANDLERS",
    "IDENTITY_EVENTS",
    "ROLE_PERMISSIONS",
    "ApiKeyScope",
    "Approval",
    "IdentityKit",
    "Origin",
    "Permission",
    "Principal",
    "Role",
    "SensitiveAction",
    "authenticate_credentials",
    "authorize",
    "build_identity_kit",
    "derive_secret",
    "encrypted_columns",
    "identity_kit",
    "identity_routers",
    "load_key_ring",
    "record_audit",
    "request_approval",
    "request_origin",
    "require",
    "seed_demo_accounts",
    "verify_audit_log",
]
