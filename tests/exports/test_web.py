"""The export pages: the three steps, the queued job, download, rights and the export log."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from nnrr.audit.models import AuditEvent
from nnrr.exports.models import ExportJob
from tests.exports.conftest import open_archive

pytestmark = pytest.mark.django_db

IMMEDIATE = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default", "exports", "reports"],
    }
}
FILTERS = {"forms": ["1b", "1a", "2", "3"], "statuses": ["2"], "period_by": "visit"}


def deliver(client: Any, follow: bool = False, **extra: Any) -> Any:
    data = {
        **FILTERS,
        "step": "export",
        "format": "csv",
        "delimiter": ";",
        "purpose": "Lokalt kvalitetsarbeid 2026",
        **extra,
    }
    return client.post(reverse("exports:index"), data, follow=follow)


def run_worker() -> None:
    """django-tasks' database worker, in-process. Its housekeeping closes old database
    connections, which would end the test's transaction, so that one call is left out."""
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        _run_worker()


def _run_worker() -> None:
    call_command(
        "db_worker", "--batch", "--queue-name", "exports", "--no-startup-delay", verbosity=0
    )


def password_of(response: Any) -> str:
    match = re.search(r'id="export-password"[^>]*>([^<]+)<', response.content.decode())
    assert match, "the password is shown on the page"
    return match.group(1)


def test_menu_shows_export_for_export_roles_only(as_persona: Any) -> None:
    page = as_persona("local_admin").get(reverse("patients:front")).content.decode()
    assert "Eksporter skjema" in page and "Eksportlogg" in page
    page = as_persona("exporter").get(reverse("patients:front")).content.decode()
    assert "Eksporter skjema" in page and "Eksportlogg" not in page
    page = as_persona("clinician").get(reverse("patients:front")).content.decode()
    assert "Eksporter skjema" not in page
    assert as_persona("clinician").get(reverse("exports:index")).status_code == 403
    assert as_persona("report_reader").get(reverse("exports:index")).status_code == 403


def test_selection_page_and_live_count(as_persona: Any, st_olavs_data: dict[str, Any]) -> None:
    client = as_persona("local_admin")
    page = client.get(reverse("exports:index")).content.decode()
    assert "Vis avanserte valg" in page and "Bare egne skjema" in page
    assert 'name="units"' not in page, "only the national role chooses units"
    count = client.get(reverse("exports:count"), FILTERS).content.decode()
    assert "10 skjema passer" in count  # 3 + 3 + 2 + 2 (consenting St. Olavs courses only)
    own = client.get(reverse("exports:count"), {**FILTERS, "own_only": "on"}).content.decode()
    assert "4 skjema passer" in own
    old = client.get(reverse("exports:count"), {**FILTERS, "age_min": "50"}).content.decode()
    assert "4 skjema passer" in old  # only the patient born 1970
    bad = client.get(reverse("exports:count"), {**FILTERS, "date_from": "31.02.2024"})
    assert bad.status_code == 200 and "Rett opp utvalget" in bad.content.decode()


def test_confirm_and_deliver_steps(as_persona: Any, st_olavs_data: dict[str, Any]) -> None:
    client = as_persona("local_admin")
    confirm = client.post(reverse("exports:index"), {**FILTERS, "step": "confirm"})
    text = confirm.content.decode()
    assert "Bekreft søkefiltrene" in text and "10 skjema passer" in text
    assert 'name="identifiable"' not in text, "no identifiable choice without the permission"
    step3 = client.post(reverse("exports:index"), {**FILTERS, "step": "deliver"}).content.decode()
    assert "Formål med eksporten" in step3 and "SPSS (.sav)" in step3
    none = client.post(reverse("exports:index"), {"step": "confirm", "statuses": ["2"]})
    assert none.status_code == 400 and "Velg minst én skjematype" in none.content.decode()


def test_purpose_is_required(as_persona: Any, st_olavs_data: dict[str, Any]) -> None:
    response = deliver(as_persona("local_admin"), purpose="   ")
    assert response.status_code == 400
    assert "Oppgi formålet med eksporten" in response.content.decode()
    assert not ExportJob.objects.exists()


def test_identifiable_refused_without_the_permission(
    as_persona: Any, st_olavs_data: dict[str, Any]
) -> None:
    response = deliver(as_persona("local_admin"), identifiable="on")
    assert response.status_code == 403
    assert "ikke tillatelse til identifiserbar eksport" in response.content.decode()
    assert not ExportJob.objects.exists()
    refused = AuditEvent.objects.get(action="nnrr.export.refused")
    assert refused.outcome == "denied" and refused.detail["identifiable"] is True


def test_web_export_queued_run_by_the_database_worker_and_downloaded(
    as_persona: Any, persona: Any, st_olavs_data: dict[str, Any]
) -> None:
    who = persona("local_admin")
    who.membership.can_export_identifiable = True
    who.membership.save()
    client = as_persona("local_admin")
    response = deliver(client, identifiable="on", format="xlsx")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    password = password_of(response)
    job = ExportJob.objects.get()
    assert job.state == ExportJob.State.QUEUED and job.identifiable
    assert password.encode() not in bytes(job.sealed_password or b"")
    status = client.get(reverse("exports:status", args=[job.pk])).content.decode()
    assert "I kø" in status and 'hx-trigger="every 2s"' in status
    run_worker()  # django-tasks' database worker picks the task from the queue
    job.refresh_from_db()
    assert job.state == ExportJob.State.READY, job.error
    assert job.sealed_password is None, "the sealed password is wiped when the worker starts"
    page = client.get(reverse("exports:job", args=[job.pk])).content.decode()
    assert password not in page, "the password is shown once only"
    assert "Last ned kryptert fil" in page and "every 2s" not in page
    download = client.get(reverse("exports:download", args=[job.pk]))
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    files = open_archive(b"".join(download.streaming_content), password)
    assert "nnrr-eksport.xlsx" in files
    event = AuditEvent.objects.get(action="nnrr.export.completed")
    assert event.detail["sha256"] == job.sha256 and event.detail["identifiable"] is True
    assert event.detail["purpose"] == "Lokalt kvalitetsarbeid 2026"
    assert event.detail["row_counts"]["Behandlerskjema"] == 3
    assert event.detail["membership"] == who.membership.pk
    assert password not in str(event.detail)
    assert not AuditEvent.objects.filter(detail__icontains=password).exists()
    # Someone else of the same unit cannot fetch it.
    other = as_persona("exporter")
    assert other.get(reverse("exports:download", args=[job.pk])).status_code == 404


def test_download_window_closes_after_24_hours(
    as_persona: Any, st_olavs_data: dict[str, Any], settings: Any
) -> None:
    settings.TASKS = IMMEDIATE
    client = as_persona("exporter")
    response = deliver(client)
    job = ExportJob.objects.get()
    assert job.state == ExportJob.State.READY, job.error
    assert job.archive_path.exists()
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    gone = client.get(reverse("exports:download", args=[job.pk]))
    assert gone.status_code == 410
    job.refresh_from_db()
    assert job.state == ExportJob.State.EXPIRED and not job.archive_path.exists()
    assert response.status_code == 200


def test_export_log_scoped_by_role(
    as_persona: Any, persona: Any, st_olavs_data: dict[str, Any], settings: Any
) -> None:
    settings.TASKS = IMMEDIATE
    deliver(as_persona("exporter"), format="sav", purpose="Forskningsprosjekt X")
    deliver(as_persona("haukeland_local_admin"), purpose="Haukelands eget")
    log = as_persona("local_admin").get(reverse("exports:log")).content.decode()
    assert "Forskningsprosjekt X" in log and "Dag Datadump" in log
    assert "Haukelands eget" not in log
    national = as_persona("national_admin").get(reverse("exports:log")).content.decode()
    assert "Forskningsprosjekt X" in national and "Haukelands eget" in national
    assert as_persona("exporter").get(reverse("exports:log")).status_code == 403


def test_national_role_exports_chosen_units_and_others_do_not(
    as_persona: Any, st_olavs_data: dict[str, Any]
) -> None:
    from tests.conftest import HAUKELAND, ST_OLAVS

    national = as_persona("national_admin")
    page = national.get(reverse("exports:index")).content.decode()
    assert 'name="units"' in page
    both = national.get(reverse("exports:count"), FILTERS).content.decode()
    assert "14 skjema passer" in both
    one = national.get(reverse("exports:count"), {**FILTERS, "units": [HAUKELAND]}).content.decode()
    assert "4 skjema passer" in one
    local = as_persona("local_admin")
    forged = local.get(reverse("exports:count"), {**FILTERS, "units": [HAUKELAND]})
    assert "10 skjema passer" in forged.content.decode(), "the unit field is ignored below national"
    response = deliver(local, units=[HAUKELAND, ST_OLAVS])
    assert response.status_code == 200


def test_sending_the_delivery_form_again_orders_nothing_and_hides_the_password(
    as_persona: Any, st_olavs_data: dict[str, Any]
) -> None:
    client = as_persona("local_admin")
    first = deliver(client, token="abc123")
    password = password_of(first)
    again = deliver(client, token="abc123", follow=True)
    assert ExportJob.objects.count() == 1
    text = again.content.decode()
    assert "allerede bestilt" in text and password not in text
    # Another user cannot use someone else's token to reach that job.
    assert deliver(as_persona("exporter"), token="abc123").status_code == 404


# --- The export screens in the user's words ----------------------------------------------------


def test_the_summary_names_tables_and_dates_as_users_know_them(
    as_persona: Any, st_olavs_data: dict[str, Any]
) -> None:
    dated = {**FILTERS, "date_from": "01.01.2025", "date_to": "31.12.2026"}
    page = (
        as_persona("local_admin")
        .post(reverse("exports:index"), {**dated, "step": "confirm"})
        .content.decode()
    )
    assert "Pasientskjema før behandling:" in page
    assert "Pasientskjema_foer_behandling" not in page
    assert "Periode (besøksdato): 01.01.2025 – 31.12.2026" in page
    assert "2025-01-01" not in page


def test_the_readme_and_the_log_use_the_same_words_and_the_files_keep_their_names(
    as_persona: Any, st_olavs_data: dict[str, Any], settings: Any
) -> None:
    settings.TASKS = IMMEDIATE
    client = as_persona("local_admin")
    response = deliver(client, date_from="01.01.2025", purpose="Kvalitetsarbeid")
    job = ExportJob.objects.get()
    assert job.state == ExportJob.State.READY, job.error
    download = client.get(reverse("exports:download", args=[job.pk]))
    files = open_archive(b"".join(download.streaming_content), password_of(response))
    readme = files["README.txt"].decode("utf-8")
    assert "Periode (besøksdato): 01.01.2025 – …" in readme
    assert "Pasientskjema før behandling (Pasientskjema_foer_behandling):" in readme
    assert any(name.startswith("Pasientskjema_foer_behandling") for name in files)
    log = client.get(reverse("exports:log")).content.decode()
    assert "Periode (besøksdato): 01.01.2025 – …" in log
    assert "Skjematyper: Behandlerskjema, Pasientskjema før behandling" in log
    assert "Pasientskjema før behandling: " in log and "Pasientskjema_foer" not in log


def test_each_archive_gets_its_own_file_name_with_format_and_time(
    as_persona: Any, st_olavs_data: dict[str, Any], settings: Any
) -> None:
    settings.TASKS = IMMEDIATE
    client = as_persona("exporter")
    deliver(client, format="csv")
    deliver(client, format="sav", purpose="Et annet formål")
    first, second = ExportJob.objects.order_by("created_at")
    ExportJob.objects.filter(pk=second.pk).update(created_at=first.created_at)  # same minute
    second.refresh_from_db()
    second.created_at += dt.timedelta(seconds=1)
    ExportJob.objects.filter(pk=second.pk).update(created_at=second.created_at)
    names = []
    for job in (first, second):
        download = client.get(reverse("exports:download", args=[job.pk]))
        match = re.search(r'filename="([^"]+)"', download["Content-Disposition"])
        assert match
        names.append(match.group(1))
    stamp = timezone.localtime(first.created_at).strftime("%Y%m%d-%H%M%S")
    assert names[0] == f"nnrr-eksport-csv-{stamp}.zip"
    assert names[1].startswith("nnrr-eksport-sav-") and names[0] != names[1]


def test_bare_egne_skjema_is_asked_apart_from_the_statuses(as_persona: Any) -> None:
    page = as_persona("local_admin").get(reverse("exports:index")).content.decode()
    statuses = page.split("Skjemastatus", 1)[1].split("</fieldset>", 1)[0]
    assert "Bare egne skjema" not in statuses
    own = page.split("Hvem sine skjema", 1)[1].split("</fieldset>", 1)[0]
    assert "Bare egne skjema" in own


def test_the_download_button_comes_before_the_details_of_a_ready_export(
    as_persona: Any, st_olavs_data: dict[str, Any], settings: Any
) -> None:
    settings.TASKS = IMMEDIATE
    client = as_persona("exporter")
    deliver(client)
    job = ExportJob.objects.get()
    page = client.get(reverse("exports:job", args=[job.pk])).content.decode()
    button = page.index("Last ned kryptert fil")
    assert button < page.index("SHA-256") and button < page.index("Formål:")
    assert button < page.index("Behandlerskjema: ")


def test_another_profile_of_the_same_user_cannot_open_the_job(
    as_persona: Any, persona: Any, st_olavs_data: dict[str, Any], settings: Any
) -> None:
    from nnrr.accounts.models import Membership, Role
    from tests.conftest import Persona, login

    settings.TASKS = IMMEDIATE
    client = as_persona("local_admin")
    deliver(client)
    job = ExportJob.objects.get()
    assert job.state == ExportJob.State.READY, job.error
    assert client.get(reverse("exports:job", args=[job.pk])).status_code == 200
    lead = persona("local_admin")
    second = Membership.objects.create(
        user=lead.user, unit=lead.unit, role=Role.DATADUMPRAPPORTLESER
    )
    other_profile = login(Client(), Persona(user=lead.user, membership=second))
    for name in ("exports:job", "exports:status", "exports:download"):
        assert other_profile.get(reverse(name, args=[job.pk])).status_code == 404, name
    page = other_profile.get(reverse("exports:index")).content.decode()
    assert str(job.pk) not in page
    assert not AuditEvent.objects.filter(action="nnrr.export.downloaded").exists()
