"""Who is acting: the user and profile behind an audited action, or the system itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nnrr.lib.requests import client_address

if TYPE_CHECKING:
    from django.http import HttpRequest

    from nnrr.accounts.models import User
    from nnrr.accounts.profiles import Profile


@dataclass(frozen=True)
class Actor:
    user: User | None
    name: str
    role: str = ""
    unit_id: int | None = None
    client_address: str | None = None

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        profile: Profile | None = getattr(request, "profile", None)
        user = request.user if request.user.is_authenticated else None
        return cls(
            user=user,
            name=str(user) if user else "",
            role=profile.role if profile else "",
            unit_id=profile.unit.pk if profile else None,
            client_address=client_address(request) or None,
        )

    @classmethod
    def patient(cls, request: HttpRequest, unit_id: int | None) -> Actor:
        """The patient acting in the portal (no user account)."""
        return cls(
            user=None,
            name="pasient",
            role="pasient",
            unit_id=unit_id,
            client_address=client_address(request) or None,
        )

    @classmethod
    def system(cls, name: str = "system", unit_id: int | None = None) -> Actor:
        return cls(user=None, name=name, role="system", unit_id=unit_id)
