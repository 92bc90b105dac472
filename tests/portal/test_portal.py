"""The ePROM filling portal: entry, lockout and throttling, consent, sections, drafts, submit.

Orders are made with "Jeg vil varsle mottaker selv" (the one-time code) or entered through the
link token the worker would put in the message. The pre-treatment form (1a) is the example.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.patients.models import Patient
from nnrr.portal import services as portal_services
from nnrr.portal import views as portal_views
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind, FormStatus, Response, Source
from nnrr.questionnaires.validation import portal_pages
from nnrr.scheduling import codes
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import Order, OrderState
from tests.conftest import ST_OLAVS, Persona, book, make_patient

NEUTRAL_ERROR = "Koden eller fødselsdatoen stemmer ikke. Prøv igjen."
BIRTH_DATE = "17.05.1975"  # make_patient's default
DEFINITION = get_definition(FormKind.PRE_TREATMENT)
PAGE_COUNT = len(portal_pages(DEFINITION, {}))  # the visible sections, long ones in parts
FIRST, SECOND = DEFINITION.sections[0], DEFINITION.sections[1]


@dataclass
class Ordered:
    order: Order
    code: str
    patient: Patient

    @property
    def token(self) -> str:
        return codes.link_token(self.order.pk, self.order.token_salt)


@pytest.fixture
def ordered(persona: Callable[[str], Persona]) -> Callable[..., Ordered]:
    """A course with a questionnaire handed over with the one-time code."""

    def make(kind: str = FormKind.PRE_TREATMENT, planned_in_days: int = 20) -> Ordered:
        clinician = persona("clinician")
        patient = make_patient(ST_OLAVS, name="Pia Portal")
        course = book(clinician, patient, planned_in_days=planned_in_days)
        if kind != FormKind.PRE_TREATMENT:
            # Follow-ups are only ordered for a course whose pre-treatment form has consent.
            scheduling.submit_patient_form(
                actor=Actor.system("test"),
                course=course,
                kind=FormKind.PRE_TREATMENT,
                answers={"FamilyStatus": 1},
                consent=True,
                source=Source.PORTAL,
                now=timezone.now(),
            )
        new = scheduling.order_questionnaire(
            actor=clinician.actor, course=course, kind=kind, notify_self=True, now=timezone.now()
        )
        return Ordered(order=new.order, code=new.code, patient=patient)

    return make


@pytest.fixture
def pre(ordered: Callable[..., Ordered]) -> Ordered:
    return ordered()


def enter(
    client: Client,
    code: str,
    birth_date: str = BIRTH_DATE,
    address: str = "127.0.0.1",
    **extra: Any,
) -> Any:
    return client.post(
        reverse("portal:start"),
        {"code": code, "birth_date": birth_date},
        REMOTE_ADDR=address,
        **extra,
    )


def entered(pre: Ordered, *, consent: bool = True) -> Client:
    client = Client()
    assert enter(client, pre.code).status_code == 302
    if consent:
        response = client.post(reverse("portal:consent"), {"consent": "1"})
        assert response["Location"] == reverse("portal:section", args=[1])
    return client


def page(response: Any) -> str:
    return html.unescape(response.content.decode())


def error_messages(response: Any) -> list[str]:
    text = response.content.decode()
    alert = re.search(
        r'<div class="ds-alert" data-color="danger" role="alert">(.*?)</div>', text, re.S
    )
    if alert is None:
        return []
    return [
        html.unescape(m) for m in re.findall(r'<p class="ds-paragraph">(.*?)</p>', alert.group(1))
    ]


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def stored(pre: Ordered) -> Order:
    return Order.objects.get(pk=pre.order.pk)


# --- Entry ---------------------------------------------------------------------------------


def test_code_with_right_birth_date_opens_the_consent_page(pre: Ordered) -> None:
    client = Client()

    response = enter(client, pre.code)

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:consent")
    consent = client.get(response["Location"])
    assert consent.status_code == 200
    assert "Samtykke til å delta i Norsk nakke- og ryggregister" in page(consent)
    event = AuditEvent.objects.get(action="nnrr.portal.entry")
    assert event.outcome == "ok"
    assert event.patient_id == pre.patient.pk
    assert event.detail == {"via": "code", "state": "ok"}


def test_code_is_accepted_in_lower_case_and_without_the_hyphen(pre: Ordered) -> None:
    response = enter(Client(), pre.code.replace("-", "").lower())
    assert response["Location"] == reverse("portal:consent")


def test_wrong_birth_date_and_unknown_code_give_the_same_neutral_error(pre: Ordered) -> None:
    wrong_date = enter(Client(), pre.code, "18.05.1975", address="10.0.0.1")
    unknown_code = enter(Client(), "ACDE-FHJK", BIRTH_DATE, address="10.0.0.2")

    assert wrong_date.status_code == unknown_code.status_code == 200
    assert error_messages(wrong_date) == error_messages(unknown_code) == [NEUTRAL_ERROR]
    assert "Pia" not in page(wrong_date)
    failed = AuditEvent.objects.filter(action="nnrr.portal.entry_failed").order_by("id")
    assert [e.detail["known_code"] for e in failed] == [True, False]
    assert [e.client_address for e in failed] == ["10.0.0.1", "10.0.0.2"]
    assert stored(pre).code_failures == 1


def test_five_wrong_birth_dates_lock_the_code_and_every_attempt_is_audited(pre: Ordered) -> None:
    responses = [
        enter(Client(), pre.code, "01.01.1990", address=f"10.0.1.{n}") for n in range(1, 6)
    ]

    assert [r.status_code for r in responses[:4]] == [200] * 4
    assert all(error_messages(r) == [NEUTRAL_ERROR] for r in responses[:4])
    assert responses[4].status_code == 403
    assert "Koden er sperret" in page(responses[4])
    order = stored(pre)
    assert order.code_failures == 5
    assert order.code_locked_at is not None

    right = enter(Client(), pre.code, BIRTH_DATE, address="10.0.1.9")

    assert right.status_code == 403
    assert "Koden er sperret" in page(right)
    assert audit_actions().count("nnrr.portal.entry_failed") == 5
    assert audit_actions().count("nnrr.portal.code_locked") == 1
    locked = AuditEvent.objects.get(action="nnrr.portal.code_locked")
    assert (locked.patient_id, locked.object_id, locked.outcome) == (
        pre.patient.pk,
        str(pre.order.pk),
        "denied",
    )
    last = AuditEvent.objects.filter(action="nnrr.portal.entry").get()
    assert last.detail["state"] == "locked" and last.outcome == "denied"


def test_locked_code_also_closes_the_link(pre: Ordered) -> None:
    for n in range(5):
        enter(Client(), pre.code, "01.01.1990", address=f"10.0.2.{n}")

    response = Client().post(
        reverse("portal:link", args=[pre.token]), {"birth_date": BIRTH_DATE}, REMOTE_ADDR="10.0.2.9"
    )

    assert response.status_code == 403
    assert "Koden er sperret" in page(response)


def _guess(n: int) -> str:
    """The n-th made-up code (letters from the code alphabet, never the fixture's)."""
    alphabet = codes.CODE_ALPHABET
    return f"ACDE-{alphabet[n % 23]}{alphabet[(n // 23) % 23]}YY"


def _block(address: str) -> None:
    """Use up the address's free failures: the last one blocks it."""
    for n in range(portal_services.ADDRESS_FREE_FAILURES):
        enter(Client(), _guess(n), address=address)


def test_repeated_failures_from_one_address_block_it(pre: Ordered) -> None:
    free = portal_services.ADDRESS_FREE_FAILURES
    guesses = [enter(Client(), _guess(n), address="10.0.3.1") for n in range(free - 1)]
    assert all(error_messages(r) == [NEUTRAL_ERROR] for r in guesses)
    assert error_messages(enter(Client(), _guess(99), address="10.0.3.1")) == [NEUTRAL_ERROR]

    slowed = enter(Client(), _guess(100), address="10.0.3.1")

    assert slowed.status_code == 200
    [message] = error_messages(slowed)
    assert message.startswith("For mange forsøk. Vent ")
    event = AuditEvent.objects.get(action="nnrr.portal.entry_slowed")
    assert event.outcome == "denied"
    assert event.client_address == "10.0.3.1"
    assert event.detail["wait_minutes"] >= 1
    # Another address is not affected.
    assert enter(Client(), pre.code, address="10.0.3.2")["Location"] == reverse("portal:consent")


def test_a_blocked_address_gets_no_code_checked_not_even_the_right_one(pre: Ordered) -> None:
    _block("10.0.4.1")
    checked = AuditEvent.objects.filter(action__startswith="nnrr.portal.entry").count()

    unknown = enter(Client(), _guess(200), address="10.0.4.1")
    wrong_birth_date = enter(Client(), pre.code, birth_date="01.01.1990", address="10.0.4.1")
    right = enter(Client(), pre.code, address="10.0.4.1")

    for response in (unknown, wrong_birth_date, right):
        assert response.status_code == 200
        assert error_messages(response)[0].startswith("For mange forsøk")
    assert stored(pre).code_failures == 0  # the wrong date of birth was never compared
    assert AuditEvent.objects.filter(action__startswith="nnrr.portal.entry").count() == checked


def test_a_blocked_period_writes_one_audit_event_however_many_tries_it_refuses(
    pre: Ordered,
) -> None:
    _block("10.0.5.1")
    for n in range(50):
        enter(Client(), _guess(300 + n), address="10.0.5.1")
    assert audit_actions().count("nnrr.portal.entry_slowed") == 1
    assert (
        audit_actions().count("nnrr.portal.entry_failed") == portal_services.ADDRESS_FREE_FAILURES
    )


def test_the_cooling_period_grows_with_every_try_while_blocked(pre: Ordered) -> None:
    _block("10.0.5.2")
    now = timezone.now()
    first = portal_services.address_wait("10.0.5.2", now)
    waits = []
    for n in range(6):
        enter(Client(), _guess(400 + n), address="10.0.5.2")
        waits.append(portal_services.address_wait("10.0.5.2", timezone.now()))
    assert first == 1
    assert waits == sorted(waits) and waits[-1] > waits[0] > first
    assert waits[-1] <= portal_services.MAX_BLOCK_MINUTES


def test_the_right_code_gets_in_once_the_cooling_period_is_over(
    pre: Ordered, monkeypatch: pytest.MonkeyPatch
) -> None:
    _block("10.0.5.3")
    assert error_messages(enter(Client(), pre.code, address="10.0.5.3"))[0].startswith("For mange")
    later = timezone.now() + dt.timedelta(minutes=portal_services.MAX_BLOCK_MINUTES + 1)
    monkeypatch.setattr("nnrr.portal.views.timezone.now", lambda: later)
    assert enter(Client(), pre.code, address="10.0.5.3")["Location"] == reverse("portal:consent")


def test_the_counters_are_shared_by_every_web_process() -> None:
    from django.conf import settings

    backend = settings.CACHES["throttle"]["BACKEND"]
    assert backend.endswith(("RedisCache", "DatabaseCache")), backend  # never per-process memory


def test_a_success_does_not_reset_the_failures_of_the_address(ordered: Any) -> None:
    first, second = ordered(), ordered()
    free = portal_services.ADDRESS_FREE_FAILURES
    for n in range(free - 1):
        enter(Client(), _guess(n), address="10.0.6.1")
    assert enter(Client(), first.code, address="10.0.6.1").status_code == 302  # a success
    enter(Client(), _guess(500), address="10.0.6.1")  # the free failures are used up
    slowed = enter(Client(), _guess(501), address="10.0.6.1")
    assert error_messages(slowed)[0].startswith("For mange forsøk")
    assert second.order.pk != first.order.pk


def test_failures_of_an_address_are_forgotten_when_their_window_ends(
    pre: Ordered, monkeypatch: pytest.MonkeyPatch
) -> None:
    free = portal_services.ADDRESS_FREE_FAILURES
    for n in range(free - 1):
        enter(Client(), _guess(n), address="10.0.7.1")
    later = timezone.now() + dt.timedelta(minutes=portal_services.FAILURE_WINDOW_MINUTES)
    monkeypatch.setattr("nnrr.portal.views.timezone.now", lambda: later)
    # A new window: the free failures are free again.
    for n in range(free - 1):
        assert error_messages(enter(Client(), _guess(300 + n), address="10.0.7.1")) == [
            NEUTRAL_ERROR
        ]
    assert portal_services.address_wait("10.0.7.1", later) == 0


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_proxy_the_real_client_address_is_throttled_not_the_proxys(
    pre: Ordered,
) -> None:
    for n in range(portal_services.ADDRESS_FREE_FAILURES + 1):
        enter(
            Client(),
            _guess(n),
            address="10.9.9.9",  # the proxy
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n % 3}, 198.51.100.7",  # spoofed left part
        )
    assert portal_services.address_wait("198.51.100.7", timezone.now()) > 0
    assert portal_services.address_wait("10.9.9.9", timezone.now()) == 0
    # Another patient behind the same proxy, from another address, is not slowed.
    response = enter(Client(), pre.code, address="10.9.9.9", HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert response["Location"] == reverse("portal:consent")
    event = AuditEvent.objects.filter(action="nnrr.portal.entry").latest("id")
    assert event.client_address == "198.51.100.8"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_a_forged_forwarded_address_is_not_stored_as_an_address(pre: Ordered) -> None:
    response = enter(Client(), pre.code, address="10.9.9.9", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert response.status_code == 302
    event = AuditEvent.objects.filter(action="nnrr.portal.entry").latest("id")
    assert event.client_address == "10.9.9.9"


def test_link_token_with_birth_date_opens_the_form(pre: Ordered) -> None:
    client = Client()
    url = reverse("portal:link", args=[pre.token])
    form = client.get(url)
    assert form.status_code == 200
    assert "Pia" not in page(form)  # nothing about the patient before the birth date

    wrong = client.post(url, {"birth_date": "18.05.1975"})
    assert error_messages(wrong) == [NEUTRAL_ERROR]

    right = client.post(url, {"birth_date": BIRTH_DATE})
    assert right["Location"] == reverse("portal:consent")
    assert AuditEvent.objects.get(action="nnrr.portal.entry").detail["via"] == "link"


def test_unknown_link_token_gives_the_neutral_error(db: None) -> None:
    response = Client().post(reverse("portal:link", args=["x" * 43]), {"birth_date": BIRTH_DATE})
    assert response.status_code == 200
    assert error_messages(response) == [NEUTRAL_ERROR]


# --- Consent and sections -------------------------------------------------------------------


def test_no_question_before_consent(pre: Ordered) -> None:
    client = entered(pre, consent=False)

    posted = client.post(reverse("portal:section", args=[1]), {"FamilyStatus": "2"})
    shown = client.get(reverse("portal:section", args=[1]))
    review = client.get(reverse("portal:review"))

    assert posted["Location"] == reverse("portal:consent")
    assert shown["Location"] == reverse("portal:consent")
    assert review["Location"] == reverse("portal:consent")
    assert not Response.objects.filter(kind=FormKind.PRE_TREATMENT).exists()


def test_consent_page_refuses_without_the_tick(pre: Ordered) -> None:
    client = entered(pre, consent=False)

    refused = client.post(reverse("portal:consent"), {})
    accepted = client.post(reverse("portal:consent"), {"consent": "1"})

    assert refused.status_code == 200
    assert "Du må krysse av for samtykke" in page(refused)
    assert accepted["Location"] == reverse("portal:section", args=[1])
    assert "nnrr.portal.consent_given" in audit_actions()


def test_follow_up_form_needs_no_consent_page(ordered: Callable[..., Ordered]) -> None:
    follow_up = ordered(kind=FormKind.FOLLOW_UP_6)
    client = Client()

    response = enter(client, follow_up.code)

    assert response["Location"] == reverse("portal:section", args=[1])
    assert client.get(reverse("portal:consent"))["Location"] == reverse("portal:section", args=[1])


def test_follow_up_form_of_a_course_without_consent_is_refused_and_stores_nothing(
    ordered: Callable[..., Ordered],
) -> None:
    follow_up = ordered(kind=FormKind.FOLLOW_UP_6)
    # An order left from before the rule (or a course whose consented form is gone).
    Response.objects.filter(course=follow_up.order.course, kind=FormKind.PRE_TREATMENT).delete()
    client = Client()
    enter(client, follow_up.code)

    shown = client.get(reverse("portal:section", args=[1]))
    posted = client.post(reverse("portal:section", args=[1]), {"action": "next"})
    submitted = client.post(reverse("portal:review"))

    for response in (shown, posted, submitted):
        assert response.status_code == 403
        assert "samtykke" in page(response)
    assert not Response.objects.filter(
        course=follow_up.order.course, kind=FormKind.FOLLOW_UP_6
    ).exists()


def test_pre_treatment_form_of_a_withdrawn_course_is_refused(pre: Ordered, persona: Any) -> None:
    client = entered(pre)
    scheduling.withdraw_consent(
        actor=persona("clinician").actor,
        patient=pre.patient,
        reason="Ønsker ikke",
        now=timezone.now(),
    )
    response = client.post(reverse("portal:section", args=[1]), {"action": "next"})
    assert response.status_code == 403
    assert not Response.objects.filter(
        course=pre.order.course, kind=FormKind.PRE_TREATMENT
    ).exists()


def test_one_section_per_page_with_progress(pre: Ordered) -> None:
    client = entered(pre)

    first = page(client.get(reverse("portal:section", args=[1])))
    second = page(client.get(reverse("portal:section", args=[2])))

    assert f"Del 1 av {PAGE_COUNT}" in first
    assert f"Del 2 av {PAGE_COUNT}" in second
    assert str(FIRST.title) in first and str(SECOND.title) not in first
    first_items = {i.id for i in FIRST.items()}
    second_items = {i.id for i in SECOND.items()}
    assert all(f'name="{item}"' in first for item in first_items)
    assert not any(f'name="{item}"' in first for item in second_items)
    assert all(f'name="{item}"' in second for item in second_items)
    assert 'aria-valuenow="2"' in second


def test_next_moves_on_and_stores_the_answers(pre: Ordered) -> None:
    client = entered(pre)

    response = client.post(
        reverse("portal:section", args=[1]), {"FamilyStatus": "2", "action": "next"}
    )

    assert response["Location"] == reverse("portal:section", args=[2])
    draft = Response.objects.get(kind=FormKind.PRE_TREATMENT)
    assert draft.status == FormStatus.KLADD
    assert draft.answers == {"FamilyStatus": 2}
    assert stored(pre).response_id == draft.pk


def test_save_and_continue_later_keeps_a_draft_and_reentry_resumes_it(pre: Ordered) -> None:
    client = entered(pre)

    saved = client.post(
        reverse("portal:section", args=[1]),
        {"FamilyStatus": "2", "OwnChildren": "3", "action": "later"},
    )

    assert saved.status_code == 200
    assert "Svarene dine er lagret" in page(saved)
    draft = Response.objects.get(kind=FormKind.PRE_TREATMENT)
    assert draft.status == FormStatus.KLADD
    assert draft.answers == {"FamilyStatus": 2, "OwnChildren": 3}
    assert stored(pre).state == OrderState.SENT

    again = Client()
    response = enter(again, pre.code)
    assert response["Location"] == reverse("portal:section", args=[1])
    resumed = page(again.get(response["Location"]))
    assert re.search(r'id="item-FamilyStatus-2" value="2"\s+checked', resumed)
    assert re.search(r'name="OwnChildren" id="input-OwnChildren" value="3"', resumed)


def test_review_counts_unanswered_questions_with_links_to_them(pre: Ordered) -> None:
    client = entered(pre)
    client.post(reverse("portal:section", args=[1]), {"FamilyStatus": "2", "action": "next"})

    before = page(client.get(reverse("portal:review")))
    client.post(
        reverse("portal:section", args=[1]),
        {"FamilyStatus": "2", "OwnChildren": "1", "action": "next"},
    )
    after = page(client.get(reverse("portal:review")))

    def counted(text: str) -> tuple[int, list[str]]:
        number = re.search(r"(\d+) spørsmål er ikke besvart", text)
        assert number is not None
        links = re.findall(r'href="(/eprom/skjema/\d+/#item-[A-Za-z0-9_]+)"', text)
        return int(number.group(1)), links

    n_before, links_before = counted(before)
    n_after, links_after = counted(after)
    assert n_before == len(links_before) > 10
    assert n_after == n_before - 1 == len(links_after)
    section_one = reverse("portal:section", args=[1])
    assert f"{section_one}#item-OwnChildren" in links_before
    assert f"{section_one}#item-OwnChildren" not in links_after
    assert not any(link.endswith("#item-FamilyStatus") for link in links_before)


# --- Submit ----------------------------------------------------------------------------------


def test_submit_twice_stores_one_completed_form_and_shows_the_receipt(pre: Ordered) -> None:
    client = entered(pre)
    client.post(reverse("portal:section", args=[1]), {"FamilyStatus": "3", "action": "next"})

    first = client.post(reverse("portal:review"))
    second = client.post(reverse("portal:review"), follow=True)

    assert first["Location"] == reverse("portal:receipt")
    assert second.status_code == 200
    assert "Takk for svarene dine" in page(second)
    completed = Response.objects.filter(kind=FormKind.PRE_TREATMENT, status=FormStatus.FERDIGSTILT)
    assert completed.count() == 1
    form = completed.get()
    assert form.answers == {"FamilyStatus": 3}
    assert form.consent is True
    assert form.source == "portal"
    order = stored(pre)
    assert order.state == OrderState.ANSWERED
    assert order.response_id == form.pk
    assert audit_actions().count("nnrr.form.submitted") == 1


def test_code_is_dead_after_submit(pre: Ordered) -> None:
    client = entered(pre)
    client.post(reverse("portal:review"), follow=True)

    again = enter(Client(), pre.code)
    by_link = Client().post(reverse("portal:link", args=[pre.token]), {"birth_date": BIRTH_DATE})

    assert again.status_code == by_link.status_code == 403
    assert "allerede sendt inn" in page(again)
    assert "allerede sendt inn" in page(by_link)


def test_expired_order_shows_the_expired_page(pre: Ordered) -> None:
    Order.objects.filter(pk=pre.order.pk).update(expires_at=timezone.now())

    response = enter(Client(), pre.code)

    assert response.status_code == 403
    assert "Skjemaet er ikke tilgjengelig" in page(response)


def test_order_expiring_while_the_patient_is_inside_shows_the_expired_page(pre: Ordered) -> None:
    client = entered(pre)
    Order.objects.filter(pk=pre.order.pk).update(expires_at=timezone.now())

    response = client.post(reverse("portal:section", args=[1]), {"FamilyStatus": "1"})

    assert response.status_code == 403
    assert "Skjemaet er ikke tilgjengelig" in page(response)
    assert not Response.objects.filter(kind=FormKind.PRE_TREATMENT).exists()


def test_replaced_order_code_shows_the_expired_page(pre: Ordered, persona: Any) -> None:
    order = stored(pre)
    scheduling.order_questionnaire(
        actor=persona("clinician").actor,
        course=order.course,
        kind=order.kind,
        notify_self=True,
        now=timezone.now(),
        replaces=order,
    )

    response = enter(Client(), pre.code)

    assert response.status_code == 403
    assert "Skjemaet er ikke tilgjengelig" in page(response)


def test_replacing_the_order_closes_a_session_already_inside(pre: Ordered, persona: Any) -> None:
    client = entered(pre)
    order = stored(pre)
    scheduling.order_questionnaire(
        actor=persona("clinician").actor,
        course=order.course,
        kind=order.kind,
        notify_self=True,
        now=timezone.now(),
    )

    response = client.post(reverse("portal:review"))

    assert response.status_code == 403
    assert not Response.objects.filter(
        kind=FormKind.PRE_TREATMENT, status=FormStatus.FERDIGSTILT
    ).exists()


# --- Bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "birth_date", "expected"),
    [
        ("!!!!-????", BIRTH_DATE, NEUTRAL_ERROR),
        ("", BIRTH_DATE, "Feltet er påkrevet."),
        ("ACDE-FHJK", "31.02.1980", "Skriv fødselsdatoen med dag, måned og år"),
        ("ACDE-FHJK", "1980-13-01", "Skriv fødselsdatoen med dag, måned og år"),
        ("A" * 5000, BIRTH_DATE, "Sørg for at denne verdien har 20 eller færre tegn"),
        ("ACDE-FHJK", "1" * 5000, "Sørg for at denne verdien har 20 eller færre tegn"),
        # NUL bytes are stripped from every field before any view sees them
        ("ACDE\x00FHJK", BIRTH_DATE, NEUTRAL_ERROR),
    ],
)
def test_bad_entry_input_gives_a_clear_page(
    db: None, code: str, birth_date: str, expected: str
) -> None:
    response = enter(Client(), code, birth_date)

    assert response.status_code == 200
    assert expected in page(response)


def test_very_long_link_token_gives_the_neutral_error(db: None) -> None:
    response = Client().post(reverse("portal:link", args=["A" * 5000]), {"birth_date": BIRTH_DATE})
    assert response.status_code == 200
    assert error_messages(response) == [NEUTRAL_ERROR]


MISSING_ORDER_ID = "5b0c43a6-0cb1-4f7e-9a55-3f1d9a0e8c11"


@pytest.mark.parametrize("value", ["not-a-uuid", MISSING_ORDER_ID, "", None, 12345])
def test_broken_portal_session_goes_back_to_the_start(db: None, value: object) -> None:
    client = Client()
    session = client.session
    session[portal_views.SESSION_ORDER] = value
    session.save()

    for url in (
        reverse("portal:consent"),
        reverse("portal:section", args=[1]),
        reverse("portal:review"),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("portal:start")


def test_pages_without_a_session_go_back_to_the_start(db: None) -> None:
    client = Client()
    assert client.get(reverse("portal:section", args=[3]))["Location"] == reverse("portal:start")
    assert client.get(reverse("portal:receipt"))["Location"] == reverse("portal:start")
    assert client.post(reverse("portal:review"))["Location"] == reverse("portal:start")


def test_out_of_range_section_numbers_redirect(pre: Ordered) -> None:
    client = entered(pre)
    assert client.get(reverse("portal:section", args=[0]))["Location"] == reverse(
        "portal:section", args=[1]
    )
    assert client.get(reverse("portal:section", args=[9999]))["Location"] == reverse(
        "portal:review"
    )
    assert client.get("/eprom/skjema/abc/").status_code == 404


def test_invalid_answers_are_shown_as_errors_and_nothing_is_lost(pre: Ordered) -> None:
    client = entered(pre)
    client.post(reverse("portal:section", args=[1]), {"FamilyStatus": "2", "action": "later"})

    response = client.post(
        reverse("portal:section", args=[1]),
        {"FamilyStatus": "99", "OwnChildren": "x" * 5000, "action": "next"},
    )

    assert response.status_code == 200
    assert "Noen svar må rettes" in page(response)
    draft = Response.objects.get(kind=FormKind.PRE_TREATMENT)
    assert draft.answers.get("FamilyStatus") == 2
    assert "OwnChildren" not in draft.answers


def test_wrong_method_is_refused_cleanly(db: None) -> None:
    assert Client().put(reverse("portal:start")).status_code == 405
    assert Client().get(reverse("portal:leave")).status_code == 405


# --- Language -------------------------------------------------------------------------------


def test_consent_page_in_english_after_choosing_english(pre: Ordered) -> None:
    client = entered(pre, consent=False)

    switched = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("portal:consent")}
    )
    consent = page(client.get(reverse("portal:consent")))

    assert switched["Location"] == reverse("portal:consent")
    assert "Consent to take part in the Norwegian Neck and Back Registry" in consent
    assert "Samtykke til å delta i Norsk nakke- og ryggregister" not in consent
    assert '<html lang="en"' in consent


def test_a_staff_login_in_the_same_browser_ends_when_the_patient_enters(
    as_persona: Any, persona: Any
) -> None:
    """A clinic PC: the patient must never be one click away from the staff pages."""
    from django.urls import reverse
    from django.utils import timezone

    from nnrr.scheduling import services as scheduling_services
    from tests.conftest import ST_OLAVS, book, make_patient

    clerk = persona("clerk")
    patient = make_patient(ST_OLAVS)
    course = book(clerk, patient)
    new = scheduling_services.order_questionnaire(
        actor=clerk.actor, course=course, kind="1a", notify_self=True, now=timezone.now()
    )
    client = as_persona("clerk")
    assert client.get(reverse("patients:front")).status_code == 200
    entered = client.post(
        reverse("portal:start"),
        {"code": new.code, "birth_date": patient.birth_date.strftime("%d.%m.%Y")},
    )
    assert entered.status_code == 302
    assert client.get(reverse("patients:front")).status_code == 302  # staff pages need login again
    assert client.get(entered["Location"]).status_code == 200  # the patient carries on


# --- What the patient sees: the hospital and clinic, no notice meant for staff ----------------


def test_no_portal_page_shows_the_placeholder_notice_meant_for_staff(pre: Ordered) -> None:
    """Every section of the pre-treatment form, the ODI and NDI with placeholder wording among
    them, reads without the notice «Plassholdertekst: …» (staff see it on the paper entry page)."""
    from nnrr.questionnaires.rendering import bind

    visible = list(dict.fromkeys(p.section.id for p in portal_pages(DEFINITION, {})))
    marked = [
        s for s in bind(DEFINITION, {}, sections=visible).sections if s.placeholder_instrument
    ]
    assert marked  # the bundled ODI and NDI wording is a placeholder, and on these pages
    client = entered(pre)
    for step in range(1, PAGE_COUNT + 1):
        html_page = page(client.get(reverse("portal:section", args=[step])))
        assert "Plassholdertekst" not in html_page
        assert "lisensierte ordlyden" not in html_page


def test_portal_pages_name_the_hospital_and_the_clinic_not_eprom(pre: Ordered) -> None:
    client = entered(pre)
    pages = [
        page(client.get(reverse("portal:section", args=[1]))),
        page(client.get(reverse("portal:review"))),
    ]
    client.post(reverse("portal:review"))
    pages.append(page(client.get(reverse("portal:receipt"))))
    pages.append(page(enter(Client(), pre.code)))  # "already submitted": the date was right
    for text in pages:
        header = text.split('<header class="app-header">', 1)[1].split("</header>", 1)[0]
        assert "St. Olavs hospital HF" in header
        assert "Nakke- og ryggpoliklinikken" in header
        assert "ePROM" not in text
    start = page(Client().get(reverse("portal:start")))
    assert "ePROM" not in start and "Svar på spørreskjema" in start
    # Before the date of birth is checked, the page does not say which hospital asks.
    link = page(Client().get(reverse("portal:link", args=[pre.token])))
    assert "St. Olavs" not in link
