"""System check: refuse to start with inconsistent form definitions."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from nnrr.questionnaires import scoring  # noqa: F401 - registers check_value_set
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
