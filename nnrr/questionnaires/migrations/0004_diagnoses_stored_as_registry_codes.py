"""Behandlerskjema diagnoses stored the way the registry's datadumps hold them.

Earlier versions stored the dotted WHO form ("M54.5") and no name. Each ``DiagnosticNumberN``
becomes the undotted code ("M545") with ``DiagnosticNumberNName``; the stored group is kept.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def forwards(apps: Any, schema_editor: Any) -> None:
    from nnrr.questionnaires import diagnoses

    Response = apps.get_model("questionnaires", "Response")
    for response in Response.objects.filter(kind="1b").iterator():
        answers = dict(response.answers or {})
        changed = False
        for position in diagnoses.POSITIONS:
            key = f"DiagnosticNumber{position}"
            raw = answers.get(key)
            if not isinstance(raw, str) or not raw:
                continue
            found = diagnoses.lookup(raw)
            if found is None:
                continue
            if answers.get(key) != found.code or not answers.get(f"{key}Name"):
                answers[key] = found.code
                answers[f"{key}Name"] = found.name_nb
                changed = True
        if changed:
            Response.objects.filter(pk=response.pk).update(answers=answers)


class Migration(migrations.Migration):
    dependencies = [("questionnaires", "0003_index_unfinished_clinician_forms")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
