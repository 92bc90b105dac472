"""System checks that refuse dangerous configuration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register("security", deploy=False)
def check_demo_not_in_production(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    if settings.PRODUCTION and (settings.DEMO or settings.TESTING):
        errors.append(
            Error(
                "Demo or test mode is on with production settings.",
                hint="Unset NNRR_DEMO and NNRR_TESTING where NNRR_PRODUCTION=1: the Test IDP "
                "and synthetic national ids must never reach real patients.",
                id="nnrr.E001",
            )
        )
    if settings.PRODUCTION and settings.DEBUG:
        errors.append(Error("NNRR_DEBUG is on with production settings.", id="nnrr.E002"))
    return errors
