"""System check: refuse to start with inconsistent form definitions."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from nnrr.questionnaires import (
    scoring,  # noqa: F401 - registers check_value_set
    wording,
)
from nnrr.questionnaires.definitions import DefinitionError, all_definitions, reload_definitions
from nnrr.questionnaires.models import FormKind


@register()
def check_form_definitions(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    reload_definitions()
    try:
        definitions = all_definitions()
    except (DefinitionError, OSError, ValueError) as exc:
        return [Error(f"Form definitions are inconsistent: {exc}", id="nnrr.E101")]
    errors = []
    forms = {d.form for d in definitions}
    for kind in FormKind:
        if kind.value not in forms:
            errors.append(
                Error(f"No definition for form {kind.value} ({kind.label}).", id="nnrr.E102")
            )
    for definition in definitions:
        if definition.form == FormKind.PRE_TREATMENT and not definition.consent.nb:
            errors.append(
                Error(
                    f"{definition.path}: the pre-treatment form needs a consent text.",
                    id="nnrr.E103",
                )
            )
    return errors


@register()
def check_licensed_wording(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """With NNRR_PRODUCTION=1, refuse to start on placeholder wording of ODI, NDI, EQ-5D-5L:
    scores computed from it are not ODI, NDI or EQ-5D-5L scores."""
    if not settings.PRODUCTION:
        return []
    wording.reload()
    try:
        missing = wording.missing_for_production()
    except (DefinitionError, OSError, ValueError) as exc:
        return [Error(f"Licensed wording cannot be read: {exc}", id="nnrr.E105")]
    if not missing:
        return []
    return [
        Error(
            "NNRR_PRODUCTION=1 needs the licensed wording of "
            f"{', '.join(missing)}; the bundled texts are placeholders.",
            hint="Load the registry's licensed files with NNRR_FORM_WORDING_DIR (docs/forms.md).",
            id="nnrr.E104",
        )
    ]
