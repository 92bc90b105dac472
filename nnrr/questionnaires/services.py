"""Form-level actions: save a draft, complete, return to draft, store a patient form.

Updates check the version the user read (optimistic locking): a second person saving the same
draft gets :class:`ConflictError` and nothing is overwritten. Completed patient forms are never
updated (the model and the database refuse it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, NoReturn

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from nnrr.audit.context import Actor
from nnrr.audit.services import record_event
from nnrr.lib.dates import oslo_date
from nnrr.lib.errors import ConflictError
from nnrr.patients.models import Course
from nnrr.questionnaires import wording
from nnrr.questionnaires.definitions import BASELINE_PREFIX, current_version, get_definition
from nnrr.questionnaires.models import (
    UNFINISHED_STATUSES,
    FormKind,
    FormReturn,
    FormStatus,
    Response,
    Source,
)
from nnrr.questionnaires.scoring import compute_scores

# Pre-treatment answers that conditions of the follow-up forms read.
BASELINE_ITEMS = ("IsNeckPainMainProblem",)


def scores_for(kind: str, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The stored scores, with the EQ-5D-5L value set named so indices are never mixed up."""
    scores: dict[str, Any] = dict(compute_scores(kind, answers))
    if "Score_EQ5DL" in scores:
        scores["Score_EQ5DL_ValueSet"] = settings.EQ5D_VALUE_SET
    return scores


def baseline_answers(course: Course, kind: str) -> dict[str, Any]:
    """The pre-treatment answers a follow-up form's conditions read (``Baseline_<item>``).

    The 6- and 12-month NDI is asked when the pre-treatment form said the neck is the main
    problem: asking on the follow-up's own answer would drop exactly the patients who improved.
    """
    if kind not in (FormKind.FOLLOW_UP_6, FormKind.FOLLOW_UP_12):
        return {}
    baseline = (
        Response.objects.filter(
            course=course, kind=FormKind.PRE_TREATMENT, status=FormStatus.FERDIGSTILT
        )
        .only("answers")
        .first()
    )
    if baseline is None:
        return {}
    return {
        f"{BASELINE_PREFIX}{key}": baseline.answers[key]
        for key in BASELINE_ITEMS
        if baseline.answers.get(key) is not None
    }


def _changed_items(old: Mapping[str, Any], new: Mapping[str, Any]) -> int:
    keys = set(old) | set(new)
    return sum(1 for k in keys if old.get(k) != new.get(k))


def record_conflict(actor: Actor, response: Response) -> None:
    """Audit a refused save; call outside the failed transaction so the event is kept."""
    record_event(
        actor=actor,
        action="nnrr.form.save_conflict",
        patient_id=response.course.patient_id,
        obj=response,
        outcome="conflict",
    )


def _conflict(actor: Actor, response: Response) -> NoReturn:
    record_conflict(actor, response)
    raise ConflictError


def save_draft(
    *,
    actor: Actor,
    response: Response,
    answers: Mapping[str, Any],
    expected_version: int,
    now: dt.datetime,
) -> Response:
    """Save answers of an unfinished form ("Avslutt skjemautfylling"); refuses stale versions."""
    if not response.is_editable:
        raise ValidationError(_("Skjemaet er ferdigstilt og kan ikke endres."))
    with transaction.atomic():
        updated = Response.objects.filter(
            pk=response.pk,
            version=expected_version,
            status__in=UNFINISHED_STATUSES,
        ).update(
            answers=dict(answers), version=F("version") + 1, updated_by=actor.user, last_update=now
        )
        if updated:
            changed = _changed_items(response.answers, answers)
            response.refresh_from_db()
            record_event(
                actor=actor,
                action="nnrr.form.saved",
                patient_id=response.course.patient_id,
                obj=response,
                detail={"kind": response.kind, "items_changed": changed},
            )
    if not updated:
        _conflict(actor, response)
    return response


def complete_form(
    *,
    actor: Actor,
    response: Response,
    answers: Mapping[str, Any],
    expected_version: int,
    now: dt.datetime,
) -> Response:
    """Ferdigstill: the answers are final. The caller has checked the mandatory items."""
    with transaction.atomic():
        updated = Response.objects.filter(
            pk=response.pk,
            version=expected_version,
            status__in=UNFINISHED_STATUSES,
        ).update(
            answers=dict(answers),
            scores=scores_for(response.kind, answers),
            status=FormStatus.FERDIGSTILT,
            completed_at=now,
            completed_by=actor.user,
            updated_by=actor.user,
            form_date=_form_date(response.kind, answers, now),
            version=F("version") + 1,
            last_update=now,
        )
        if updated:
            response.refresh_from_db()
            record_event(
                actor=actor,
                action="nnrr.form.completed",
                patient_id=response.course.patient_id,
                obj=response,
                detail={"kind": response.kind, "version": response.definition_version},
            )
    if not updated:
        _conflict(actor, response)
    return response


def _version_of(kind: str, draft: Response | None) -> str:
    return draft.definition_version if draft is not None else current_version(kind)


def _form_date(kind: str, answers: Mapping[str, Any], now: dt.datetime) -> dt.date:
    if kind == FormKind.CLINICIAN and answers.get("S1b_DateOfCompletion"):
        return dt.date.fromisoformat(str(answers["S1b_DateOfCompletion"]))
    return oslo_date(now)


def return_to_draft(*, actor: Actor, response: Response, reason: str, now: dt.datetime) -> Response:
    """A completed Behandlerskjema back to "Returnert" so it can be corrected (written reason)."""
    if response.kind != FormKind.CLINICIAN or response.status != FormStatus.FERDIGSTILT:
        raise ValidationError(_("Bare et ferdigstilt behandlerskjema kan returneres."))
    reason = reason.strip()
    if len(reason) < 5:
        raise ValidationError(_("Skriv en begrunnelse for at skjemaet returneres."))
    with transaction.atomic():
        Response.objects.filter(pk=response.pk, status=FormStatus.FERDIGSTILT).update(
            status=FormStatus.RETURNERT,
            version=F("version") + 1,
            updated_by=actor.user,
            last_update=now,
        )
        response.refresh_from_db()
        FormReturn.objects.create(
            response=response, reason=reason[:2000], returned_at=now, returned_by=actor.user
        )
        record_event(
            actor=actor,
            action="nnrr.form.returned",
            patient_id=response.course.patient_id,
            obj=response,
            detail={"reason_given": True},
        )
    return response


def course_has_consent(course: Course) -> bool:
    """The course's pre-treatment form is stored with the patient's consent (consent belongs to
    the course: a withdrawal deletes that form, and a new course asks again)."""
    return Response.objects.giving_consent().filter(course=course).exists()


def _is_answered(value: Any) -> bool:
    # An unticked box (False) is no answer; a 0 on a scale is one.
    return not (value is None or value is False or value in ("", [], {}))


def _has_answers(answers: Mapping[str, Any]) -> bool:
    return any(_is_answered(value) for value in answers.values())


def check_patient_form_allowed(*, course: Course, kind: str, consent: bool | None) -> None:
    """The consent rule for every path a patient form arrives by (portal, paper, drafts): the
    course is active, the pre-treatment form carries consent, and a 6- or 12-month form needs
    the course's consented pre-treatment form."""
    if course.status != Course.Status.ACTIVE:
        raise ValidationError(_("Forløpet er slettet. Ingen opplysninger er lagret."))
    if kind == FormKind.PRE_TREATMENT and consent is not True:
        raise ValidationError(
            _("Skjemaet kan ikke sendes inn uten samtykke. Ingen opplysninger er lagret.")
        )
    if kind != FormKind.PRE_TREATMENT and not course_has_consent(course):
        raise ValidationError(
            _(
                "Pasienten har ikke samtykket for dette forløpet (pasientskjema før behandling). "
                "Ingen opplysninger er lagret."
            )
        )


def latest_return(response: Response) -> FormReturn | None:
    """Why a returned Behandlerskjema was returned (None unless it is returned now)."""
    if response.status != FormStatus.RETURNERT:
        return None
    return response.returns.select_related("returned_by").first()


def store_patient_form(
    *,
    actor: Actor,
    course: Course,
    kind: str,
    answers: Mapping[str, Any],
    consent: bool | None,
    source: str,
    now: dt.datetime,
    draft: Response | None = None,
) -> Response:
    """A submitted patient form, complete with scores. The pre-treatment form needs consent:
    without it nothing at all is stored, and a follow-up form is only stored for a course with
    consent. A paper form without a single answer is not stored. Call inside the caller's
    transaction."""
    check_patient_form_allowed(course=course, kind=kind, consent=consent)
    if source == Source.PAPER and not _has_answers(answers):
        raise ValidationError(
            _("Papirskjemaet er tomt: fyll inn svarene fra skjemaet. Ingen opplysninger er lagret.")
        )
    if Response.objects.filter(course=course, kind=kind, status=FormStatus.FERDIGSTILT).exists():
        raise ValidationError(_("Dette skjemaet er allerede levert for forløpet."))
    answers = {**baseline_answers(course, kind), **answers}
    values = {
        "answers": dict(answers),
        "scores": scores_for(kind, answers),
        "status": FormStatus.FERDIGSTILT,
        "consent": consent if kind == FormKind.PRE_TREATMENT else None,
        "wording": wording.for_definition(get_definition(kind, _version_of(kind, draft))),
        "source": source,
        "completed_at": now,
        "completed_by": actor.user,
        "updated_by": actor.user,
        "form_date": _form_date(kind, answers, now),
        "last_update": now,
    }
    if draft is not None:
        Response.objects.filter(pk=draft.pk, status=FormStatus.KLADD).update(
            version=F("version") + 1, **values
        )
        draft.refresh_from_db()
        response = draft
    else:
        response = Response.objects.create(
            course=course,
            kind=kind,
            definition_version=current_version(kind),
            created_by=actor.user,
            **values,
        )
    record_event(
        actor=actor,
        action="nnrr.form.submitted",
        patient_id=course.patient_id,
        obj=response,
        detail={"kind": kind, "source": source, "consent": consent},
    )
    return response


def save_portal_draft(
    *,
    actor: Actor,
    course: Course,
    kind: str,
    answers: Mapping[str, Any],
    draft: Response | None,
    now: dt.datetime,
) -> Response:
    """ "Lagre og fortsett senere" in the portal (only after consent was given)."""
    check_patient_form_allowed(
        course=course, kind=kind, consent=True if kind == FormKind.PRE_TREATMENT else None
    )
    if draft is None:
        response = Response.objects.create(
            course=course,
            kind=kind,
            definition_version=current_version(kind),
            wording=wording.for_definition(get_definition(kind)),
            answers=dict(answers),
            consent=True if kind == FormKind.PRE_TREATMENT else None,
            source=Source.PORTAL,
            last_update=now,
        )
    else:
        Response.objects.filter(pk=draft.pk, status=FormStatus.KLADD).update(
            answers=dict(answers), version=F("version") + 1, last_update=now
        )
        draft.refresh_from_db()
        response = draft
    record_event(
        actor=actor,
        action="nnrr.form.portal_saved",
        patient_id=course.patient_id,
        obj=response,
        detail={"kind": kind},
    )
    return response
