"""Audit events in plain Norwegian: "Åpnet Behandlerskjema", "Returnerte skjema: <begrunnelse>"."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from nnrr.accounts.models import Role

FORM_NAMES = {
    "1b": gettext_lazy("Behandlerskjema"),
    "1a": gettext_lazy("Pasientskjema før behandling"),
    "2": gettext_lazy("Pasientskjema 6 måneder"),
    "3": gettext_lazy("Pasientskjema 12 måneder"),
}

# "{form}" is replaced by the form's name when the event names one, else by "skjema".
ACTIONS: dict[str, Any] = {
    "nnrr.form.viewed": gettext_lazy("Så {form}"),
    "nnrr.form.opened": gettext_lazy("Åpnet {form}"),
    "nnrr.form.created": gettext_lazy("Opprettet {form}"),
    "nnrr.form.journal_note_viewed": gettext_lazy("Så journalnotat"),
    "nnrr.form.saved": gettext_lazy("Lagret {form}"),
    "nnrr.form.completed": gettext_lazy("Ferdigstilte {form}"),
    "nnrr.form.returned": gettext_lazy("Returnerte skjema"),
    "nnrr.form.deleted": gettext_lazy("Slettet skjema"),
    "nnrr.form.paper_entered": gettext_lazy("Registrerte papirskjema"),
    "nnrr.form.submitted": gettext_lazy("Pasienten sendte inn {form}"),
    "nnrr.form.portal_saved": gettext_lazy("Pasienten lagret {form}"),
    "nnrr.form.save_conflict": gettext_lazy("Lagring avvist: skjemaet var endret av en annen"),
    "nnrr.patient.viewed": gettext_lazy("Åpnet pasient"),
    "nnrr.patient.registered": gettext_lazy("Registrerte pasient"),
    "nnrr.patient.contact_changed": gettext_lazy("Endret kontaktopplysninger"),
    "nnrr.patient.contact_viewed": gettext_lazy("Så kontaktopplysninger"),
    "nnrr.patient.searched": gettext_lazy("Søkte etter pasient"),
    "nnrr.course.created": gettext_lazy("Opprettet forløp"),
    "nnrr.course.rebooked": gettext_lazy("Endret datoer for forløp"),
    "nnrr.course.deleted": gettext_lazy("Slettet forløp"),
    "nnrr.course.purged": gettext_lazy("Forløp uten samtykke slettet"),
    "nnrr.course.owner_changed": gettext_lazy("Endret eier av forløp"),
    "nnrr.order.created": gettext_lazy("Bestilte ePROM"),
    "nnrr.order.viewed": gettext_lazy("Så bestilling"),
    "nnrr.order.replanned": gettext_lazy("Planla utsending på nytt"),
    "nnrr.consent.withdrawn": gettext_lazy("Registrerte tilbaketrukket samtykke"),
    "nnrr.portal.entry": gettext_lazy("Pasienten åpnet skjema i portalen"),
    "nnrr.portal.entry_failed": gettext_lazy("Feil fødselsdato i portalen"),
    "nnrr.portal.entry_slowed": gettext_lazy("For mange forsøk i portalen"),
    "nnrr.portal.code_locked": gettext_lazy("Engangskode sperret"),
    "nnrr.portal.consent_given": gettext_lazy("Pasienten ga samtykke"),
    "nnrr.login.succeeded": gettext_lazy("Logget inn"),
    "nnrr.login.refused": gettext_lazy("Innlogging avvist"),
    "nnrr.login.unknown_identity": gettext_lazy("Innlogging av ukjent person"),
    "nnrr.logout": gettext_lazy("Logget ut"),
    "nnrr.profile.chosen": gettext_lazy("Valgte profil"),
    "nnrr.audit.viewed": gettext_lazy("Så loggen"),
    "nnrr.audit.exported": gettext_lazy("Lastet ned logg (CSV)"),
    "nnrr.audit.innsyn": gettext_lazy("Lagde innsynsliste for pasient"),
    "nnrr.worklist.consent.viewed": gettext_lazy("Så samtykkeloggen"),
    "nnrr.access_application.submitted": gettext_lazy("Søkte om tilgang"),
    "nnrr.access_application.approved": gettext_lazy("Godkjente søknad om tilgang"),
    "nnrr.access_application.rejected": gettext_lazy("Avslo søknad om tilgang"),
    "nnrr.membership.granted": gettext_lazy("Ga rolle"),
    "nnrr.membership.changed": gettext_lazy("Endret rolle"),
    "nnrr.user.added": gettext_lazy("La til person"),
    "nnrr.user.looked_up": gettext_lazy("Slo opp person i «Ny bruker»"),
    "nnrr.unit.added": gettext_lazy("La til enhet"),
    "nnrr.unit.changed": gettext_lazy("Endret enhet"),
}

PREFIXES: list[tuple[str, Any]] = [
    ("nnrr.export", gettext_lazy("Eksporterte data")),
    ("nnrr.report", gettext_lazy("Lagde rapport")),
    ("nnrr.worklist.", gettext_lazy("Så arbeidslisten")),
]

OBJECT_NAMES = {
    "patient": gettext_lazy("pasient"),
    "course": gettext_lazy("forløp"),
    "response": gettext_lazy("skjema"),
    "order": gettext_lazy("bestilling"),
}

# The action filter of the Logg: a plain-language group and the action prefixes it covers.
ACTION_GROUPS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "skjema": (gettext_lazy("Skjema"), ("nnrr.form.",)),
    "pasient": (gettext_lazy("Pasient"), ("nnrr.patient.",)),
    "forlop": (gettext_lazy("Forløp og bestillinger"), ("nnrr.course.", "nnrr.order.")),
    "samtykke": (gettext_lazy("Samtykke"), ("nnrr.consent.", "nnrr.portal.consent")),
    "eksport": (gettext_lazy("Eksport"), ("nnrr.export",)),
    "innlogging": (gettext_lazy("Innlogging"), ("nnrr.login.", "nnrr.logout", "nnrr.profile.")),
    "tilgang": (
        gettext_lazy("Tilganger og administrasjon"),
        ("nnrr.membership.", "nnrr.unit.", "nnrr.access_application.", "nnrr.user."),
    ),
    "logg": (gettext_lazy("Logg og innsyn"), ("nnrr.audit.",)),
    "portal": (gettext_lazy("Pasientportalen"), ("nnrr.portal.",)),
    "avvist": (gettext_lazy("Avvist tilgang"), ()),
}


def describe(action: str, detail: dict[str, Any], return_reason: str = "") -> str:
    """The event in words a person understands."""
    detail = detail if isinstance(detail, dict) else {}
    form = FORM_NAMES.get(str(detail.get("kind", "")))
    template = ACTIONS.get(action)
    if template is None and action.endswith(".access_denied"):
        kind = action.removeprefix("nnrr.").removesuffix(".access_denied")
        return _("Forsøkte å åpne %(what)s uten tilgang") % {
            "what": OBJECT_NAMES.get(kind, kind.replace("_", " "))
        }
    if template is None:
        template = next((words for prefix, words in PREFIXES if action.startswith(prefix)), None)
    if template is None:
        return _("Annen hendelse (%(code)s)") % {"code": action}
    text = str(template).replace("{form}", str(form) if form else _("skjema"))
    if action == "nnrr.form.returned":
        reason = return_reason or str(detail.get("reason", ""))
        if reason:
            text = f"{text}: {reason}"
    return text


def role_label(role: str) -> str:
    if role in Role.values:
        return str(Role(role).label)
    if role == "pasient":
        return _("Pasienten")
    if role == "system":
        return _("Systemet")
    return role
