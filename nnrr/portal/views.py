"""The ePROM filling portal: phone-first pages for patients.

Entry with the link from the message or the one-time code, always with the date of birth; then
the consent (pre-treatment form), the questionnaire one section per page with progress, "save and
continue later" until the deadline, a warning listing unanswered questions, an idempotent submit
and a receipt. After submit the code is dead.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from nnrr.audit.context import Actor
from nnrr.lib.dates import in_supported_range, oslo_date, parse_birth_date
from nnrr.portal import services as portal
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.definitions import Definition, get_definition
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from nnrr.questionnaires.rendering import bind
from nnrr.questionnaires.validation import (
    asks_for_an_answer,
    parse_submission,
    portal_pages,
    resume_step,
)
from nnrr.scheduling.models import Order, OrderState

SESSION_ORDER = "nnrr_portal_order"
SESSION_CONSENT = "nnrr_portal_consent"
SESSION_RECEIPT = "nnrr_portal_receipt"
# The unit of the order the patient proved: the scope of the pages inside the portal.
SESSION_UNIT = "nnrr_portal_unit"


class BirthDateField(forms.CharField):
    default_error_messages = {
        "invalid": gettext_lazy(
            "Skriv fødselsdatoen med dag, måned og år, for eksempel 15031975 eller 15.03.1975."
        )
    }

    def clean(self, value: Any) -> dt.date:
        raw = super().clean(value)
        parsed = parse_birth_date(raw, today=oslo_date(timezone.now()))
        if parsed is None or not in_supported_range(parsed):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


def _birth_widget() -> forms.TextInput:
    return forms.TextInput(
        attrs={
            "class": "ds-input",
            "inputmode": "numeric",
            "autocomplete": "bday",
            "placeholder": "ddmmåååå",
        }
    )


class CodeEntryForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Engangskode"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "class": "ds-input",
                "autocomplete": "one-time-code",
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
    )
    birth_date = BirthDateField(
        label=gettext_lazy("Fødselsdato"), max_length=20, widget=_birth_widget()
    )


class LinkEntryForm(forms.Form):
    birth_date = BirthDateField(
        label=gettext_lazy("Fødselsdato"), max_length=20, widget=_birth_widget()
    )


ENTRY_MESSAGES = {
    portal.Entry.WRONG: gettext_lazy("Koden eller fødselsdatoen stemmer ikke. Prøv igjen."),
    portal.Entry.SLOWED: gettext_lazy("For mange forsøk. Vent %(minutes)d minutter og prøv igjen."),
}


def _entered(request: HttpRequest, order: Order) -> HttpResponse:
    if request.user.is_authenticated:
        # A clinic PC: staff opened the portal for the patient in their own browser. The patient
        # must never be one click away from the staff pages, so the staff login ends here.
        portal.record_staff_logout(actor=Actor.from_request(request))
        logout(request)
    request.session.cycle_key()  # a fresh session id once the patient has proved who they are
    request.session[SESSION_ORDER] = str(order.pk)
    request.session[SESSION_UNIT] = order.course.unit_id
    request.session.pop(SESSION_CONSENT, None)
    if order.kind == FormKind.PRE_TREATMENT and not (order.response_id and order.response):
        return redirect("portal:consent")
    if order.kind == FormKind.PRE_TREATMENT:
        request.session[SESSION_CONSENT] = True  # consent was given before the saved draft
    # Back to a saved questionnaire: the first page with a question not yet answered.
    draft = _draft(order)
    answers = {
        **form_services.baseline_answers(order.course, order.kind),
        **(draft.answers if draft else {}),
    }
    step = resume_step(get_definition(order.kind), answers) if draft else 1
    if step is None:
        return redirect("portal:review")
    return redirect("portal:section", step=step)


def _entry_result_page(request: HttpRequest, result: portal.EntryResult) -> HttpResponse | None:
    pages = {
        portal.Entry.LOCKED: "portal/locked.html",
        portal.Entry.USED: "portal/used.html",
        portal.Entry.EXPIRED: "portal/expired.html",
        portal.Entry.NOT_YET: "portal/expired.html",
    }
    template = pages.get(result.outcome)
    if template is None:
        return None
    # The date of birth was right for a used or expired form: its page may name the hospital.
    order = result.order if result.outcome != portal.Entry.LOCKED else None
    return render(request, template, {"outcome": result.outcome.value, "order": order}, status=403)


def _entry(
    request: HttpRequest,
    form: forms.Form,
    find: Callable[[forms.Form], Order | None],
    via: str,
    template: str,
) -> HttpResponse:
    """Both ways in: check the date of birth against the order found, then enter or explain."""
    if request.method == "POST" and form.is_valid():
        result = portal.enter(
            request=request,
            find=lambda: find(form),
            birth_date=form.cleaned_data["birth_date"],
            now=timezone.now(),
            via=via,
        )
        with portal.order_scope(result.order):
            if result.outcome == portal.Entry.OK and result.order is not None:
                return _entered(request, result.order)
            page = _entry_result_page(request, result)
        if page is not None:
            return page
        form.add_error(None, str(ENTRY_MESSAGES[result.outcome]) % {"minutes": result.wait_minutes})
    return render(request, template, {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """ "ePROM utfyllingsportal": one-time code + date of birth (e.g. on a clinic PC)."""
    return _entry(
        request,
        CodeEntryForm(request.POST or None),
        lambda form: portal.order_by_code(form.cleaned_data["code"]),
        "code",
        "portal/start.html",
    )


@never_cache
@require_http_methods(["GET", "POST"])
def link(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the message: the date of birth is asked before anything is shown."""
    return _entry(
        request,
        LinkEntryForm(request.POST or None),
        lambda form: portal.order_by_token(token),
        "link",
        "portal/link.html",
    )


# --- Inside the portal -----------------------------------------------------------------------


def _in_patient_scope(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The page runs in the scope of the unit whose order the patient proved (none before)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        unit_id = request.session.get(SESSION_UNIT)
        if not isinstance(unit_id, int) and request.session.get(SESSION_ORDER):
            # A session that entered before the unit was kept with it.
            unit_id = portal.unit_of_order(str(request.session[SESSION_ORDER]))
            if unit_id is not None:
                request.session[SESSION_UNIT] = unit_id
        with portal.unit_scope_of(unit_id if isinstance(unit_id, int) else None):
            return view(request, *args, **kwargs)

    return wrapped


def _current(request: HttpRequest) -> tuple[Order, Definition] | HttpResponse:
    """The patient's order from the session, still open; or the page to show instead."""
    raw = request.session.get(SESSION_ORDER)
    try:
        order_id = uuid.UUID(str(raw))
    except ValueError:
        return redirect("portal:start")
    order = (
        Order.objects.select_related("course__patient", "course__unit", "response")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        return redirect("portal:start")
    now = timezone.now()
    if order.state == OrderState.ANSWERED:
        return redirect("portal:receipt")
    if (
        order.state not in (OrderState.SENT, OrderState.REMINDED)
        or order.expires_at <= now
        or order.code_locked_at
    ):
        request.session.pop(SESSION_ORDER, None)
        return render(request, "portal/expired.html", {}, status=403)
    return order, get_definition(order.kind)


def _draft(order: Order) -> Response | None:
    response = order.response if order.response_id else None
    if response is not None and response.status == FormStatus.KLADD:
        return response
    return None


@never_cache
@require_http_methods(["GET", "POST"])
@_in_patient_scope
def consent(request: HttpRequest) -> HttpResponse:
    current = _current(request)
    if isinstance(current, HttpResponse):
        return current
    order, definition = current
    if order.kind != FormKind.PRE_TREATMENT:
        return redirect("portal:section", step=1)
    if portal.consent_gate(order, consent_in_session=False) == portal.Gate.REFUSED:
        return render(request, "portal/no_consent.html", {}, status=403)
    error = ""
    if request.method == "POST":
        if request.POST.get("consent") == "1":
            request.session[SESSION_CONSENT] = True
            portal.record_consent(actor=Actor.patient(request, order.course.unit_id), order=order)
            return redirect("portal:section", step=1)
        error = _("Du må krysse av for samtykke for å fylle ut skjemaet elektronisk.")
    return render(
        request, "portal/consent.html", {"definition": definition, "order": order, "error": error}
    )


def _require_consent(request: HttpRequest, order: Order) -> HttpResponse | None:
    """The consent gate before any page that shows or stores answers, for every form kind."""
    gate = portal.consent_gate(order, consent_in_session=bool(request.session.get(SESSION_CONSENT)))
    if gate == portal.Gate.ASK:
        return redirect("portal:consent")
    if gate == portal.Gate.REFUSED:
        return render(request, "portal/no_consent.html", {}, status=403)
    return None


@never_cache
@require_http_methods(["GET", "POST"])
@_in_patient_scope
def section(request: HttpRequest, step: int) -> HttpResponse:
    """One section of the questionnaire; "Neste", "Forrige", "Lagre og fortsett senere"."""
    current = _current(request)
    if isinstance(current, HttpResponse):
        return current
    order, definition = current
    if (blocked := _require_consent(request, order)) is not None:
        return blocked
    draft = _draft(order)
    answers = {
        **form_services.baseline_answers(order.course, order.kind),
        **(draft.answers if draft else {}),
    }
    pages = portal_pages(definition, answers)
    if step > len(pages):
        return redirect("portal:review")
    if step < 1:
        return redirect("portal:section", step=1)
    page = pages[step - 1]
    errors: dict[str, str] = {}
    raw: dict[str, Any] = {}
    if request.method == "POST":
        parsed = parse_submission(
            definition,
            request.POST,
            previous=answers,
            sections=[page.section.id],
            elements=page.element_ids,
        )
        portal.save_section(
            actor=Actor.patient(request, order.course.unit_id),
            order=order,
            answers=parsed.answers,
            now=timezone.now(),
        )
        if parsed.ok:
            action = request.POST.get("action", "next")
            if action == "later":
                return render(request, "portal/saved.html", {"order": order})
            new_pages = portal_pages(definition, parsed.answers)
            if action == "back":
                return redirect("portal:section", step=max(1, step - 1))
            if step >= len(new_pages):
                return redirect("portal:review")
            return redirect("portal:section", step=step + 1)
        answers, errors = parsed.answers, parsed.errors
        raw = {k: request.POST.get(k) for k in request.POST}
    form = bind(definition, answers, errors=errors, raw=raw, page=page)
    return render(
        request,
        "portal/section.html",
        {
            "order": order,
            "definition": definition,
            "form": form,
            "step": step,
            "total": len(pages),
            "percent": int(100 * (step - 1) / max(1, len(pages))),
            "section_obj": page.section,
        },
    )


def _unanswered(definition: Definition, answers: dict[str, Any]) -> list[tuple[int, str, str]]:
    """(step, anchor, label) of visible questions without an answer (optional free-text boxes
    and tick boxes are not questions left unanswered)."""
    result = []
    for step, page in enumerate(portal_pages(definition, answers), start=1):
        bound = bind(definition, answers, page=page).sections[0]
        for element in bound.elements:
            if getattr(element, "group", None) is not None:
                continue
            item = element.item  # type: ignore[union-attr]
            if not element.visible or not asks_for_an_answer(item):
                continue
            if answers.get(item.id) in (None, ""):
                result.append((step, f"item-{item.id}", str(item.label)))
    return result


@never_cache
@require_http_methods(["GET", "POST"])
@_in_patient_scope
def review(request: HttpRequest) -> HttpResponse:
    """Before "Send inn": how many questions are unanswered, with links back to them."""
    current = _current(request)
    if isinstance(current, HttpResponse):
        return current
    order, definition = current
    if (blocked := _require_consent(request, order)) is not None:
        return blocked
    draft = _draft(order)
    answers = {
        **form_services.baseline_answers(order.course, order.kind),
        **(draft.answers if draft else {}),
    }
    if request.method == "POST":
        return _submit(request, order, answers)
    unanswered = _unanswered(definition, answers)
    return render(
        request,
        "portal/review.html",
        {
            "order": order,
            "definition": definition,
            "unanswered": unanswered,
            "total": len(portal_pages(definition, answers)),
        },
    )


def _submit(request: HttpRequest, order: Order, answers: dict[str, Any]) -> HttpResponse:
    """Submit once: a second click (or a reload) finds the order answered and shows the receipt."""
    try:
        response = portal.submit(
            actor=Actor.patient(request, order.course.unit_id),
            order=order,
            answers=answers,
            now=timezone.now(),
        )
    except ValidationError as exc:
        return render(
            request,
            "portal/review.html",
            {
                "order": order,
                "error": " ".join(exc.messages),
                "definition": get_definition(order.kind),
                "unanswered": [],
                "total": 0,
            },
        )
    if response is None:
        return redirect("portal:receipt")
    request.session[SESSION_RECEIPT] = {
        "at": timezone.localtime(response.completed_at or timezone.now()).strftime(
            "%d.%m.%Y %H:%M"
        ),
        "title": str(get_definition(order.kind).title),
        "hospital": order.course.unit.name,
    }
    request.session.pop(SESSION_CONSENT, None)
    return redirect("portal:receipt")


@never_cache
def receipt(request: HttpRequest) -> HttpResponse:
    info = request.session.get(SESSION_RECEIPT)
    request.session.pop(SESSION_ORDER, None)
    if not info:
        return redirect("portal:start")
    return render(request, "portal/receipt.html", {"info": info})


@require_http_methods(["POST"])
def leave(request: HttpRequest) -> HttpResponse:
    for key in (SESSION_ORDER, SESSION_CONSENT, SESSION_RECEIPT, SESSION_UNIT):
        request.session.pop(key, None)
    return redirect(reverse("portal:start"))
