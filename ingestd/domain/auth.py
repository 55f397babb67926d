"""Who is calling: a key's tenant and role."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ingestd.domain.errors import PermissionDenied


class Role(StrEnum):
    ADMIN = "admin"  # manages keys, sees every tenant
    MEMBER = "member"  # manages its tenant's jobs
    VIEWER = "viewer"  # read-only


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    tenant: str
    role: Role

    @property
    def scope(self) -> str | None:
        """The tenant to filter by; ``None`` (all tenants) for admins."""
        return None if self.role is Role.ADMIN else self.tenant

    def require_write(self) -> None:
        if self.role is Role.VIEWER:
            raise PermissionDenied("this key is read-only (role viewer)")

    def require_admin(self) -> None:
        if self.role is not Role.ADMIN:
            raise PermissionDenied("this action needs an admin key")
