"""Typed dependency aliases that keep route signatures short."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from finplat.identity.access import identity_kit, request_origin
from finplat.identity.context import IdentityKit, Origin

Kit = Annotated[IdentityKit, Depends(identity_kit)]
RequestOrigin = Annotated[Origin, Depends(request_origin)]
