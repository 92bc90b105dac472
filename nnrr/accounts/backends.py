"""Authentication by identity-provider subject."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from nnrr.accounts.models import Identity, User


class IdentityBackend(BaseBackend):
    """Logs in the user bound to (provider, subject); never by e-mail or password."""

    def authenticate(
        self, request: HttpRequest | None, *, provider: str = "", subject: str = "", **kwargs: Any
    ) -> User | None:
        if not provider or not subject:
            return None
        identity = (
            Identity.objects.select_related("user")
            .filter(provider=provider, subject=subject, user__is_active=True)
            .first()
        )
        return identity.user if identity else None

    def get_user(self, user_id: int) -> User | None:
        return User.objects.filter(pk=user_id, is_active=True).first()
