"""The course sections of the patient page ("Skjema"), rendered in Python.

Each course shows its forms with their actions, the paper form menus and its ePROM orders with
theirs: a few dozen links, labels and dates per course. Written as template tags they were most
of the page's time (every ``{% url %}`` asks the URL resolver, every ``{% translate %}`` and
``|date`` does its lookups, again for each course and row). Here the labels and URL shapes are
looked up once per page and every value goes through ``format_html``'s escaping; the HTML is the
one the template wrote (``templates/patients/detail.html`` keeps the rest of the page).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from nnrr.lib.rows import day, day_time, html_format, html_rows, url_maker
from nnrr.patients.templatetags.nnrr import expiry_day, order_color, sort_forms, status_color
from nnrr.questionnaires.models import FormKind, FormStatus
from nnrr.scheduling.models import OrderState

_OPEN = {"planned", "sent", "reminded"}
_PAPER_KINDS = ("1a", "2", "3")

_FORM_ROW = (
    "<tr>"
    '<td><a class="ds-link" href="{}">{}</a></td>'
    '<td data-label="{}"><span class="ds-tag" data-color="{}">{}</span></td>'
    '<td data-label="{}">{}</td><td data-label="{}">{}</td><td data-label="{}">{}</td>'
    '<td class="app-cell-actions">{}</td>'
    "</tr>\n"
)
_NOTIFY_SELF = ' <span class="ds-tag" data-color="neutral">{}</span>'
_ORDER_ROW = (
    "<tr><td>{}{}</td>"
    '<td data-label="{}"><span class="ds-tag" data-color="{}">{}</span></td>'
    '<td data-label="{}">{}</td><td data-label="{}">{}</td><td data-label="{}">{}</td>'
    '<td class="app-cell-actions">{}</td></tr>\n'
)


class _Labels:
    """The page's words, translated once."""

    def __init__(self) -> None:
        t = gettext
        self.course = t("Forløp")
        self.referred = t("henvist")
        self.planned_visit = t("planlagt konsultasjon")
        self.form = t("Skjema")
        self.status = t("Status")
        self.planned = t("Planlagt dato")
        self.owner = t("Eier")
        self.changed = t("Sist endret")
        self.actions = t("Handlinger")
        self.fill = t("Fyll ut skjema")
        self.more_clinician = t("Flere valg for Behandlerskjema")
        self.change_date = t("Endre dato for konsultasjon")
        self.change_owner = t("Endre eier")
        self.delete = t("Slett skjema")
        self.print_paper = t("Skriv ut papirskjema")
        self.register_paper = t("Registrer papirskjema")
        self.paper_kinds = (
            t("Pasientskjema før behandling"),
            t("Pasientskjema 6 måneder etter behandling"),
            t("Pasientskjema 12 måneder etter behandling"),
        )
        self.orders = t("ePROM-bestillinger")
        self.sent = t("Sendes / sendt")
        self.reminder = t("Påminnelse")
        self.deadline = t("Frist")
        self.notify_self = t("varsles av personalet")
        self.more_order = t("Flere valg for bestillingen")
        self.show_code = t("Vis engangskode")
        self.reorder = t("Bestill på nytt")
        self.dispatch_log = t("Utsendingslogg")
        self.show_dispatch_log = t("Vis utsendingslogg")
        # Choice labels, translated once (a model's get_<field>_display() translates every
        # choice again on each call).
        self.form_kinds = {value: str(label) for value, label in FormKind.choices}
        self.form_statuses = {value: str(label) for value, label in FormStatus.choices}
        self.order_states = {value: str(label) for value, label in OrderState.choices}


class _Urls:
    """The URL shapes of a course's links, reversed once per page."""

    def __init__(self) -> None:
        self.response = url_maker("questionnaires:response")
        self.fill = url_maker("questionnaires:fill")
        self.course_dates = url_maker("patients:course_dates")
        self.course_owner = url_maker("patients:course_owner")
        self.course_delete = url_maker("patients:course_delete")
        self.show_code = url_maker("scheduling:show_code")
        self.reorder = url_maker("scheduling:reorder")
        self.dispatch_log = url_maker("scheduling:dispatch_log")
        placeholder = "00000000-0000-4000-8000-000000000000"
        self.paper_print: list[tuple[str, str]] = []
        self.paper: list[tuple[str, str]] = []
        for kind in _PAPER_KINDS:
            for names, into in (
                ("questionnaires:paper_print", self.paper_print),
                ("questionnaires:paper", self.paper),
            ):
                before, after = reverse(names, args=[placeholder, kind]).split(placeholder)
                into.append((before, after))


def course_sections(request: Any, courses: Iterable[Any]) -> SafeString:
    """The ``<section>`` of each active course of the patient page, in the given order (the
    courses of ``access.patient_courses``)."""
    labels = _Labels()
    urls = _Urls()
    csrf = html_format(
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request)
    )
    return html_rows("{}\n", ((_section(course, labels, urls, csrf),) for course in courses))


def _section(course: Any, labels: _Labels, urls: _Urls, csrf: SafeString) -> SafeString:
    pk = course.pk
    planned = day(course.planned_consultation_date)
    owner = course.owner_name or "–"
    forms = html_rows(
        _FORM_ROW,
        (
            (
                urls.response(response.pk),
                labels.form_kinds.get(response.kind, response.kind),
                labels.status,
                status_color(response.status),
                labels.form_statuses.get(response.status, response.status),
                labels.planned,
                planned,
                labels.owner,
                owner if response.kind == "1b" else "–",
                labels.changed,
                day_time(response.last_update),
                _form_actions(course, response, labels, urls),
            )
            for response in sort_forms(course.shown_forms)
        ),
    )
    paper = html_format(
        '<details class="app-menu app-paper-menu">'
        '<summary class="ds-button" data-variant="tertiary" data-size="sm">{}</summary>'
        '<div class="app-menu__panel">{}</div></details>\n'
        '<details class="app-menu app-paper-menu">'
        '<summary class="ds-button" data-variant="tertiary" data-size="sm">{}</summary>'
        '<div class="app-menu__panel">{}</div></details>',
        labels.print_paper,
        html_rows(
            '<a class="ds-link" href="{}{}{}" target="_blank" rel="noopener">{} (PDF)</a>',
            (
                (before, pk, after, label)
                for (before, after), label in zip(urls.paper_print, labels.paper_kinds, strict=True)
            ),
        ),
        labels.register_paper,
        html_rows(
            '<a class="ds-link" href="{}{}{}">{}</a>',
            (
                (before, pk, after, label)
                for (before, after), label in zip(urls.paper, labels.paper_kinds, strict=True)
            ),
        ),
    )
    return html_format(
        '<section class="ds-card app-card app-course" aria-labelledby="course-{}">\n'
        '<h3 class="ds-heading" data-size="xs" id="course-{}">{}: {} {}, {} {}</h3>\n'
        '<div class="app-table-wrap"><table class="ds-table app-stack" data-size="sm">'
        '<thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th>'
        '<th scope="col">{}</th><th scope="col">{}</th>'
        '<th scope="col"><span class="ds-sr-only">{}</span></th></tr></thead>\n'
        "<tbody>\n{}</tbody></table></div>\n{}\n{}</section>",
        pk,
        pk,
        labels.course,
        labels.referred,
        day(course.referral_date),
        labels.planned_visit,
        planned,
        labels.form,
        labels.status,
        labels.planned,
        labels.owner,
        labels.changed,
        labels.actions,
        forms,
        paper,
        _orders(course, labels, urls, csrf),
    )


def _form_actions(course: Any, response: Any, labels: _Labels, urls: _Urls) -> SafeString:
    if response.kind != "1b":
        return mark_safe("")
    fill = (
        html_format(
            '<a class="ds-button" data-variant="secondary" data-size="sm" href="{}">{}</a>',
            urls.fill(response.pk),
            labels.fill,
        )
        if response.is_editable
        else ""
    )
    delete = (
        ""
        if response.is_completed
        else html_format(
            '<a class="ds-link" href="{}">{}</a>', urls.course_delete(course.pk), labels.delete
        )
    )
    return html_format(
        '{}<details class="app-menu"><summary class="ds-button" data-variant="tertiary" '
        'data-size="sm" aria-label="{}">⋯</summary><div class="app-menu__panel">'
        '<a class="ds-link" href="{}">{}</a><a class="ds-link" href="{}">{}</a>{}'
        "</div></details>",
        fill,
        labels.more_clinician,
        urls.course_dates(course.pk),
        labels.change_date,
        urls.course_owner(course.pk),
        labels.change_owner,
        delete,
    )


def _orders(course: Any, labels: _Labels, urls: _Urls, csrf: SafeString) -> SafeString:
    orders = course.shown_orders
    if not orders:
        return mark_safe("")
    rows = html_rows(
        _ORDER_ROW,
        (
            (
                labels.form_kinds.get(order.kind, order.kind),
                html_format(_NOTIFY_SELF, labels.notify_self) if order.notify_self else "",
                labels.status,
                order_color(order.state),
                labels.order_states.get(order.state, order.state),
                labels.sent,
                day_time(order.sent_at or order.send_at),
                labels.reminder,
                day_time(order.reminded_at or order.remind_at) or "–",
                labels.deadline,
                day(expiry_day(order.expires_at)),
                _order_actions(order, labels, urls, csrf),
            )
            for order in orders
        ),
    )
    log_url = urls.dispatch_log(course.pk)
    return html_format(
        '<h4 class="ds-heading" data-size="2xs">{}</h4>\n'
        '<div class="app-table-wrap"><table class="ds-table app-stack" data-size="sm">'
        '<thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th>'
        '<th scope="col">{}</th><th scope="col">{}</th>'
        '<th scope="col"><span class="ds-sr-only">{}</span></th></tr></thead>\n'
        "<tbody>\n{}</tbody></table></div>\n"
        '<details class="ds-details app-dispatch-log"><summary>{}</summary>'
        # Loaded when opened: the page does not pay for a log most visits never open.
        '<div hx-get="{}" hx-trigger="toggle once from:closest details" hx-swap="innerHTML">'
        '<a class="ds-link" href="{}">{}</a></div></details>\n',
        labels.orders,
        labels.form,
        labels.status,
        labels.sent,
        labels.reminder,
        labels.deadline,
        labels.actions,
        rows,
        labels.dispatch_log,
        log_url,
        log_url,
        labels.show_dispatch_log,
    )


def _order_actions(order: Any, labels: _Labels, urls: _Urls, csrf: SafeString) -> SafeString:
    if order.state == "answered":
        return mark_safe("")
    show_code = (
        html_format(
            '<form method="post" action="{}">{}<button type="submit" '
            'class="ds-button app-menu__button" data-variant="tertiary" data-size="sm">{}'
            "</button></form>",
            urls.show_code(order.pk),
            csrf,
            labels.show_code,
        )
        if order.code_sealed
        and not order.code_used_at
        and not order.code_locked_at
        and order.state in _OPEN
        else ""
    )
    return html_format(
        '<details class="app-menu"><summary class="ds-button" data-variant="tertiary" '
        'data-size="sm" aria-label="{}">⋯</summary><div class="app-menu__panel">{}'
        '<a class="ds-link" href="{}">{}</a></div></details>',
        labels.more_order,
        show_code,
        urls.reorder(order.pk),
        labels.reorder,
    )
