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

# "{form}" is replaced by the form's name when the event names one, else by "skjema". Every
# event code the system writes has its words here: the innsyn list a patient is given must never
# show a code (tests/audit/test_wording.py finds each code in the source and checks it is here).
ACTIONS: dict[str, Any] = {
    # Skjema
    "nnrr.form.viewed": gettext_lazy("Så {form}"),
    "nnrr.form.opened": gettext_lazy("Åpnet {form}"),
    "nnrr.form.created": gettext_lazy("Opprettet {form}"),
    "nnrr.form.journal_note_viewed": gettext_lazy("Så journalnotat"),
    "nnrr.form.saved": gettext_lazy("Lagret {form}"),
    "nnrr.form.completed": gettext_lazy("Ferdigstilte {form}"),
    "nnrr.form.return_opened": gettext_lazy("Åpnet siden for å returnere {form}"),
    "nnrr.form.returned": gettext_lazy("Returnerte skjema"),
    "nnrr.form.deleted": gettext_lazy("Slettet skjema"),
    "nnrr.form.paper_opened": gettext_lazy("Åpnet {form} for registrering fra papir"),
    "nnrr.form.paper_entered": gettext_lazy("Registrerte papirskjema"),
    "nnrr.form.paper_printed": gettext_lazy("Skrev ut {form} på papir"),
    "nnrr.form.submitted": gettext_lazy("Pasienten sendte inn {form}"),
    "nnrr.form.portal_saved": gettext_lazy("Pasienten lagret {form}"),
    "nnrr.form.save_conflict": gettext_lazy("Lagring avvist: skjemaet var endret av en annen"),
    # Pasient
    "nnrr.patient.viewed": gettext_lazy("Åpnet pasient"),
    "nnrr.patient.registered": gettext_lazy("Registrerte pasient"),
    "nnrr.patient.contact_opened": gettext_lazy("Åpnet kontaktopplysningene for endring"),
    "nnrr.patient.contact_changed": gettext_lazy("Endret kontaktopplysninger"),
    "nnrr.patient.contact_viewed": gettext_lazy("Så kontaktopplysninger"),
    "nnrr.patient.new_form_opened": gettext_lazy("Åpnet siden for nytt skjema"),
    "nnrr.patient.searched": gettext_lazy("Søkte etter pasient"),
    # Forløp og bestillinger
    "nnrr.course.booking_opened": gettext_lazy("Åpnet siden for å opprette forløp"),
    "nnrr.course.created": gettext_lazy("Opprettet forløp"),
    "nnrr.course.dates_opened": gettext_lazy("Åpnet datoene for forløpet"),
    "nnrr.course.rebooked": gettext_lazy("Endret datoer for forløp"),
    "nnrr.course.delete_opened": gettext_lazy("Åpnet siden for å slette forløp"),
    "nnrr.course.deleted": gettext_lazy("Slettet forløp"),
    "nnrr.course.purged": gettext_lazy("Forløp uten samtykke slettet"),
    "nnrr.course.owner_opened": gettext_lazy("Åpnet siden for å endre eier av forløp"),
    "nnrr.course.owner_changed": gettext_lazy("Endret eier av forløp"),
    "nnrr.course.dispatch_log.viewed": gettext_lazy("Så utsendingene til pasienten"),
    "nnrr.order.form_opened": gettext_lazy("Åpnet siden for å sende skjema til pasienten"),
    "nnrr.order.created": gettext_lazy("Sendte skjema til pasienten"),
    "nnrr.order.viewed": gettext_lazy("Så bestilling av skjema"),
    "nnrr.order.reorder_opened": gettext_lazy("Åpnet siden for å sende skjema på nytt"),
    "nnrr.order.replanned": gettext_lazy("Planla utsending på nytt"),
    "nnrr.order.code_shown_again": gettext_lazy("Viste pasientens engangskode på nytt"),
    # Samtykke
    "nnrr.consent.withdrawal_opened": gettext_lazy(
        "Åpnet siden for å registrere tilbaketrukket samtykke"
    ),
    "nnrr.consent.registry_withdrawal_opened": gettext_lazy(
        "Åpnet siden for å trekke pasienten ut av registeret"
    ),
    "nnrr.consent.withdrawn": gettext_lazy("Registrerte tilbaketrukket samtykke"),
    # Pasientportalen
    "nnrr.portal.entry": gettext_lazy("Pasienten åpnet skjema i portalen"),
    "nnrr.portal.entry_failed": gettext_lazy(
        "Noen skrev feil fødselsdato eller kode for å åpne skjema i portalen"
    ),
    "nnrr.portal.entry_slowed": gettext_lazy(
        "For mange forsøk på å åpne skjema i portalen: må vente"
    ),
    "nnrr.portal.code_locked": gettext_lazy("Engangskoden ble sperret etter for mange feil"),
    "nnrr.portal.consent_given": gettext_lazy("Pasienten ga samtykke"),
    # Innlogging
    "nnrr.login.succeeded": gettext_lazy("Logget inn"),
    "nnrr.login.refused": gettext_lazy("Innlogging avvist"),
    "nnrr.login.unknown_identity": gettext_lazy("Innlogging av ukjent person"),
    "nnrr.logout": gettext_lazy("Logget ut"),
    "nnrr.profile.chosen": gettext_lazy("Valgte profil"),
    # Logg og innsyn
    "nnrr.audit.viewed": gettext_lazy("Så loggen"),
    "nnrr.audit.exported": gettext_lazy("Lastet ned loggen som regneark (CSV)"),
    "nnrr.audit.innsyn": gettext_lazy("Lagde innsynsliste for pasient"),
    # Arbeidslister
    "nnrr.worklist.mine.viewed": gettext_lazy("Så arbeidslisten «Mine uferdige skjema»"),
    "nnrr.worklist.overdue.viewed": gettext_lazy(
        "Så arbeidslisten «Utgått planlagt konsultasjonsdato»"
    ),
    "nnrr.worklist.unit.viewed": gettext_lazy("Så arbeidslisten «Avdelingens uferdige skjemaer»"),
    "nnrr.worklist.consent.viewed": gettext_lazy("Så samtykkeloggen"),
    # Eksport
    "nnrr.export.completed": gettext_lazy("Lagde en eksport av data"),
    "nnrr.export.refused": gettext_lazy("Eksport av data avvist"),
    "nnrr.export.failed": gettext_lazy("Eksport av data feilet"),
    "nnrr.export.downloaded": gettext_lazy("Lastet ned en eksport av data"),
    "nnrr.export.log_viewed": gettext_lazy("Så eksportloggen"),
    # Rapporter
    "nnrr.report.viewed": gettext_lazy("Så rapport"),
    "nnrr.report.national_file": gettext_lazy("Lastet ned nasjonal indikatorfil"),
    "nnrr.report.document_ordered": gettext_lazy("Bestilte rapport som PDF"),
    "nnrr.report.downloaded": gettext_lazy("Lastet ned rapport"),
    "nnrr.report.coverage_entered": gettext_lazy("Registrerte dekningsgrad"),
    "nnrr.report.subscribed": gettext_lazy("Abonnerte på rapport"),
    "nnrr.report.subscription_avslutt": gettext_lazy("Avsluttet abonnement på rapport"),
    "nnrr.report.subscription_forny": gettext_lazy("Fornyet abonnement på rapport"),
    # Tilganger og administrasjon
    "nnrr.access_application.submitted": gettext_lazy("Søkte om tilgang"),
    "nnrr.access_application.approved": gettext_lazy("Godkjente søknad om tilgang"),
    "nnrr.access_application.rejected": gettext_lazy("Avslo søknad om tilgang"),
    "nnrr.membership.granted": gettext_lazy("Ga rolle"),
    "nnrr.membership.changed": gettext_lazy("Endret rolle"),
    "nnrr.user.added": gettext_lazy("La til person"),
    "nnrr.user.looked_up": gettext_lazy("Slo opp person i «Ny bruker»"),
    "nnrr.unit.added": gettext_lazy("La til enhet"),
    "nnrr.unit.changed": gettext_lazy("Endret enhet"),
    # Datakvalitet
    "nnrr.report.data_quality": gettext_lazy("Så rapporten Datakvalitet"),
    # Bestillinger som stoppes
    "nnrr.order.cancelled": gettext_lazy("Stoppet utsending av skjema til pasienten"),
    # Mottatte avtaler (timer fra sykehusets timebok)
    "nnrr.appointment.book": gettext_lazy("Sykehusets timebok meldte en ny time"),
    "nnrr.appointment.move": gettext_lazy("Sykehusets timebok meldte at timen ble flyttet"),
    "nnrr.appointment.cancel": gettext_lazy("Sykehusets timebok meldte at timen ble avbestilt"),
    "nnrr.appointment.no_show": gettext_lazy("Sykehusets timebok meldte at pasienten ikke møtte"),
    "nnrr.appointment.message_received": gettext_lazy("Tok imot en melding fra sykehusets timebok"),
    "nnrr.appointment.reprocessed": gettext_lazy("Behandlet en melding fra timeboken på nytt"),
    "nnrr.appointment.handled": gettext_lazy("Merket en melding fra timeboken som håndtert"),
    "nnrr.appointment.list_opened": gettext_lazy("Så Mottatte avtaler"),
    "nnrr.appointment.message_opened": gettext_lazy("Åpnet en melding fra sykehusets timebok"),
    # No longer written (booking systems are FHIR API clients now); kept for earlier events.
    "nnrr.appointment.client_issued": gettext_lazy(
        "Ga sykehusets timebok tilgang til å melde timer"
    ),
    # Pasientjournalen (FHIR)
    "nnrr.fhir.patient_read": gettext_lazy("Pasientjournalen hentet pasientopplysninger"),
    "nnrr.fhir.response_read": gettext_lazy("Pasientjournalen hentet et utfylt skjema"),
    "nnrr.fhir.journal_note_read": gettext_lazy("Pasientjournalen hentet journalnotatet"),
    "nnrr.fhir.journal_pdf_read": gettext_lazy("Pasientjournalen hentet journalnotatet som PDF"),
    "nnrr.fhir.response_refused": gettext_lazy("Et skjema fra Helsenorge ble ikke tatt imot"),
    "nnrr.fhir.token_refused": gettext_lazy("Et datasystem ble nektet tilgang"),
    # Demo
    "nnrr.demo.outbox_viewed": gettext_lazy("Så sendte meldinger (demo)"),
}

# An event that was not carried out, when its own words do not say so.
NOT_DONE = {
    "denied": gettext_lazy("%(what)s – ble ikke tillatt"),
    "failed": gettext_lazy("%(what)s – feilet"),
    "conflict": gettext_lazy("%(what)s – ble avvist fordi skjemaet var endret av en annen"),
}

# A patient's attempt to open a form that was refused, by the reason the portal gave.
PORTAL_REFUSED = {
    "used": gettext_lazy("Pasienten prøvde å åpne et skjema som allerede er sendt inn"),
    "expired": gettext_lazy("Pasienten prøvde å åpne et skjema etter svarfristen"),
    "not_yet": gettext_lazy("Pasienten prøvde å åpne et skjema som ikke er sendt ut ennå"),
    "locked": gettext_lazy("Pasienten prøvde å åpne et skjema med en sperret engangskode"),
}

# What ``nnrr.<kind>.access_denied`` (:func:`nnrr.audit.services.not_found`) tried to open.
OBJECT_NAMES = {
    "patient": gettext_lazy("en pasient"),
    "course": gettext_lazy("et forløp"),
    "response": gettext_lazy("et skjema"),
    "order": gettext_lazy("en bestilling"),
    "user": gettext_lazy("en person"),
    "unit": gettext_lazy("en enhet"),
    "export": gettext_lazy("en eksport"),
    "report_document": gettext_lazy("en rapport"),
    "report_subscription": gettext_lazy("et abonnement på rapport"),
    "membership": gettext_lazy("en rolle"),
    "access_application": gettext_lazy("en søknad om tilgang"),
    "inbound_message": gettext_lazy("en melding fra sykehusets timebok"),
    "journal_note": gettext_lazy("et journalnotat"),
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
    "avtaler": (gettext_lazy("Mottatte avtaler"), ("nnrr.appointment.",)),
    "fhir": (gettext_lazy("Pasientjournalen (FHIR)"), ("nnrr.fhir.",)),
    "avvist": (gettext_lazy("Avvist tilgang"), ()),
}


def describe(
    action: str, detail: dict[str, Any], return_reason: str = "", outcome: str = "ok"
) -> str:
    """The event in words a person understands, as one sentence: an event that was refused or
    failed says so in its words ("Pasienten prøvde å åpne et skjema som allerede er sendt
    inn"), not by a bare "avvist" after them. An unknown code (only an event written by an
    older version) is "Annen hendelse" with its code, for the registry's staff to look up."""
    detail = detail if isinstance(detail, dict) else {}
    if action == "nnrr.portal.entry" and outcome != "ok":
        refused = PORTAL_REFUSED.get(str(detail.get("state", "")))
        return str(refused) if refused else _("Pasienten fikk ikke åpne skjema i portalen")
    form = FORM_NAMES.get(str(detail.get("kind", "")))
    template = ACTIONS.get(action)
    if template is None and action.endswith(".access_denied"):
        kind = action.removeprefix("nnrr.").removesuffix(".access_denied")
        return _("Forsøkte å åpne %(what)s uten tilgang") % {
            "what": OBJECT_NAMES.get(kind, kind.replace("_", " "))
        }
    if template is None:
        return _("Annen hendelse (%(code)s)") % {"code": action}
    text = str(template).replace("{form}", str(form) if form else _("skjema"))
    if action == "nnrr.form.returned":
        reason = return_reason or str(detail.get("reason", ""))
        if reason:
            text = f"{text}: {reason}"
    if outcome != "ok" and not already_says_outcome(action):
        text = str(NOT_DONE.get(outcome, NOT_DONE["denied"])) % {"what": text}
    return text


def already_says_outcome(action: str) -> bool:
    """Whether the words of ``action`` already say it was refused or failed (then the Logg and
    the innsyn add no "avvist" after them)."""
    return action in SAYS_OUTCOME or action.endswith(".access_denied")


# Events whose words already say that something was refused or failed.
SAYS_OUTCOME = frozenset(
    {
        "nnrr.portal.entry",
        "nnrr.portal.entry_failed",
        "nnrr.portal.entry_slowed",
        "nnrr.portal.code_locked",
        "nnrr.form.save_conflict",
        "nnrr.login.refused",
        "nnrr.export.refused",
        "nnrr.export.failed",
        "nnrr.fhir.response_refused",
        "nnrr.fhir.token_refused",
    }
)


def role_label(role: str) -> str:
    if role in Role.values:
        return str(Role(role).label)
    if role == "pasient":
        return _("Pasienten")
    if role == "system":
        return _("Systemet")
    return role
