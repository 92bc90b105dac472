"""The rows of the worklists, the Logg and the patient page's course sections: every text in
them that someone typed (a patient's name, a return reason, a user's name) arrives escaped."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone

from nnrr.accounts.models import User
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from tests.conftest import ST_OLAVS, book, make_patient

SCRIPT = "<script>alert(1)</script>"
NAME = f'{SCRIPT} "Ola" & Kari'
ESCAPED_NAME = "&lt;script&gt;alert(1)&lt;/script&gt; &quot;Ola&quot; &amp; Kari"


def _no_raw_markup(html: str) -> None:
    assert SCRIPT not in html
    assert "<b>" not in html


def test_worklist_rows_escape_names_and_return_reasons(as_persona: Any, persona: Any) -> None:
    clinician = persona("clinician")
    User.objects.filter(pk=clinician.user.pk).update(full_name=f"<b>Kari</b> {SCRIPT}")
    course = book(clinician, make_patient(ST_OLAVS, name=NAME))
    Response.objects.filter(course=course, kind=FormKind.CLINICIAN).update(
        status=FormStatus.FERDIGSTILT
    )
    form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    form_services.return_to_draft(
        actor=persona("local_admin").actor,
        response=form,
        reason=f"Feil diagnose <b>her</b> {SCRIPT}",
        now=timezone.now(),
    )
    client = as_persona("clinician")
    for url in ("worklists:mine", "worklists:unit"):
        html = client.get(reverse(url)).content.decode()
        _no_raw_markup(html)
        assert ESCAPED_NAME in html
        assert "Feil diagnose &lt;b&gt;her&lt;/b&gt;" in html
        assert "&lt;b&gt;Kari&lt;/b&gt;" in html  # the owner's name


def test_patient_page_course_sections_escape_what_was_typed(as_persona: Any, persona: Any) -> None:
    course = book(persona("clinician"), make_patient(ST_OLAVS, name=NAME))
    html = as_persona("clinician").get(reverse("patients:detail", args=[course.patient_id]))
    text = html.content.decode()
    _no_raw_markup(text)
    assert ESCAPED_NAME in text


def test_logg_rows_escape_user_names(as_persona: Any, persona: Any) -> None:
    clinician = persona("clinician")
    User.objects.filter(pk=clinician.user.pk).update(full_name=f"<b>Kari</b> {SCRIPT}")
    clinician.user.refresh_from_db()
    as_persona("clinician").get(reverse("worklists:mine"))  # an event with that name
    html = as_persona("local_admin").get(reverse("audit:log")).content.decode()
    _no_raw_markup(html)
    assert "&lt;b&gt;Kari&lt;/b&gt;" in html
