"""HL7 v2 SIU messages: read with python-hl7 into an :class:`AppointmentEvent`, and the ACKs.

The default message profile (HL7 v2.5), described for the hospitals in docs/integration.md:
MSH-4 the unit's reshID; PID-3 the fødselsnummer (the repetition whose CX.4 is the OID
2.16.578.1.12.4.1.4.1 or CX.5 ``FNR``; D-number OID …4.2 / ``DNR``); PID-5 the name; SCH-2 the
appointment id (else SCH-1); the start from AIS-4 (else SCH-11's start); SCH-25 the status;
the referral date from RF1-7; SCH-7/SCH-8 the appointment type; AIG-3/AIP-3 the resources and
AIP-3 the clinician. Unknown segments and fields are ignored.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

import hl7
from django.utils.translation import gettext_noop
from hl7.datatypes import parse_datetime

from nnrr.accounts.models import Unit
from nnrr.appointments.models import MAPPABLE_FIELDS, EventKind
from nnrr.appointments.services import AppointmentEvent, Units, unit_pk
from nnrr.lib.dates import OSLO, oslo_date
from nnrr.lib.national_id import NationalIdError, parse_national_id

FNR_OIDS = {"2.16.578.1.12.4.1.4.1": "FNR", "2.16.578.1.12.4.1.4.2": "DNR"}
ID_TYPES = {"FNR", "DNR", "HNR"}
TRIGGERS = {
    "S12": EventKind.BOOK,
    "S13": EventKind.MOVE,
    "S14": EventKind.MOVE,
    "S15": EventKind.CANCEL,
    "S26": EventKind.NO_SHOW,
}
# SCH-25 (filler status) overrides the trigger when it says the time is off.
STATUSES = {"CANCELLED": EventKind.CANCEL, "NOSHOW": EventKind.NO_SHOW, "DELETED": EventKind.CANCEL}

# HL7 table 0357 (message error condition codes) used in ERR-3.
ERR_REQUIRED = "101^Required field missing^HL70357"
ERR_DATA_TYPE = "102^Data type error^HL70357"
ERR_UNSUPPORTED_TYPE = "200^Unsupported message type^HL70357"
ERR_UNSUPPORTED_EVENT = "201^Unsupported event code^HL70357"
ERR_UNKNOWN_KEY = "204^Unknown key identifier^HL70357"
ERR_INTERNAL = "207^Application internal error^HL70357"


@dataclass(frozen=True)
class Parsed:
    """What intake and the processor need from a message. ``failure`` set: it cannot be used;
    ``ack`` is the code it is answered with (AA, AE, AR) and ``error`` the ERR-3 code."""

    message: hl7.Message | None
    source: str = ""
    unit_code: str = ""
    unit: Unit | None = None
    message_id: str = ""
    message_type: str = ""
    event: AppointmentEvent | None = None
    failure: str = ""
    ack: str = "AA"
    error: str = ""


def decode(block: bytes) -> str:
    """The message text: UTF-8, or ISO 8859-1 when MSH-18 says so or the bytes are not UTF-8."""
    head = block[:500].split(b"\r", 1)[0]
    if b"8859" in head:
        return block.decode("latin-1")
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError:
        return block.decode("latin-1")


def _normalise(text: str) -> str:
    text = text.strip("\x0b\x1c\r\n ")
    return re.sub(r"\r\n|\n|\r", "\r", text)


def _value(segment: hl7.Segment | None, field: int, rep: int = 1, comp: int = 1) -> str:
    if segment is None:
        return ""
    try:
        value = segment(field)
        if isinstance(value, hl7.Field):
            value = value(rep)
        if isinstance(value, hl7.Repetition):
            value = value(comp)
        if isinstance(value, hl7.Component):
            value = value(1)
        return str(value).strip()
    except (IndexError, KeyError):
        return ""


def _repetitions(segment: hl7.Segment | None, field: int) -> list[hl7.Repetition | str]:
    if segment is None:
        return []
    try:
        value = segment(field)
    except IndexError:
        return []
    if isinstance(value, hl7.Field):
        return list(value)
    return [value]


def _component(rep: hl7.Repetition | str, comp: int) -> str:
    if isinstance(rep, hl7.Repetition):
        try:
            value = rep(comp)
        except IndexError:
            return ""
        if isinstance(value, hl7.Component):
            value = value(1)
        return str(value).strip()
    return str(rep).strip() if comp == 1 else ""


def _first(message: hl7.Message, segment_id: str) -> hl7.Segment | None:
    try:
        return message.segment(segment_id)
    except KeyError:
        return None


def _all(message: hl7.Message, segment_id: str) -> list[hl7.Segment]:
    try:
        return list(message.segments(segment_id))
    except KeyError:
        return []


def _moment(raw: str) -> dt.datetime | None:
    """An HL7 TS/DTM; without an offset it is Oslo time."""
    raw = raw.strip()
    if not raw:
        return None
    moment = parse_datetime(raw)  # raises ValueError on nonsense
    if moment is None:
        return None
    return moment.replace(tzinfo=OSLO) if moment.tzinfo is None else moment


def _national_id(pid: hl7.Segment | None) -> str:
    reps = _repetitions(pid, 3)
    for rep in reps:
        authority = _component(rep, 4)
        kind = _component(rep, 5).upper()
        if authority in FNR_OIDS or kind in ID_TYPES:
            return _component(rep, 1)
    if len(reps) == 1 and not _component(reps[0], 4) and not _component(reps[0], 5):
        return _component(reps[0], 1)  # a lone unmarked identifier: tolerated
    return ""


def _name(pid: hl7.Segment | None) -> str:
    reps = _repetitions(pid, 5)
    if not reps:
        return ""
    family, given, middle = (_component(reps[0], i) for i in (1, 2, 3))
    return " ".join(part for part in (given, middle, family) if part)


def _mapped(message: hl7.Message, accessor: str) -> str:
    """A field by a python-hl7 accessor ("RF1.F9", "SCH.F1.R1.C1"); "" when the message lacks
    it. ValueError for an accessor that is not one."""
    if not re.fullmatch(r"[A-Z][A-Z0-9]{2}(\.F\d+)(\.R\d+)?(\.C\d+)?(\.S\d+)?", accessor):
        raise ValueError(accessor)
    try:
        return str(message[accessor]).strip()
    except (KeyError, IndexError):
        return ""


def _with_mapped(event: AppointmentEvent, mapped: dict[str, str]) -> AppointmentEvent:
    """The event with the unit's mapped fields (the dates are read before)."""
    return replace(
        event,
        appointment_id=mapped.get("appointment_id", event.appointment_id),
        clinician=mapped.get("clinician", event.clinician),
        national_id=mapped.get("national_id", event.national_id),
    )


def unknown_unit(unit_code: str) -> str:
    return gettext_noop("Ukjent enhet i MSH-4: %(code)s") % {"code": unit_code or "–"}


def _failed(parsed: Parsed, failure: str, ack: str, error: str) -> Parsed:
    return replace(parsed, failure=failure, ack=ack, error=error)


def read(text: str, *, units: Units | None = None) -> Parsed:
    """Read one SIU message with the default profile. Never raises: what is wrong is in
    ``failure`` with the ACK code to answer. The unit and its feed settings are looked up in
    ``units`` (the processor reads them for its batch)."""
    text = _normalise(text)
    if not text.startswith("MSH"):
        return Parsed(
            message=None,
            failure=gettext_noop("Ikke en HL7-melding: den må begynne med MSH."),
            ack="AR",
            error="100^Segment sequence error^HL70357",
        )
    try:
        message = hl7.parse(text)
        msh = message.segment("MSH")
    except Exception:  # the library's errors on broken delimiters vary by input
        return Parsed(
            message=None,
            failure=gettext_noop("Meldingen kan ikke leses som HL7 v2."),
            ack="AR",
            error=ERR_DATA_TYPE,
        )
    base = Parsed(
        message=message,
        source=_value(msh, 3) or "ukjent",
        unit_code=_value(msh, 4),
        message_id=_value(msh, 10),
        message_type="^".join(p for p in (_value(msh, 9, 1, 1), _value(msh, 9, 1, 2)) if p),
    )
    units = units or Units()
    base = replace(base, unit=units.unit(unit_pk(base.unit_code)))
    if not base.message_id:
        return _failed(base, gettext_noop("MSH-10 (meldings-id) mangler."), "AR", ERR_REQUIRED)
    if _value(msh, 9, 1, 1) != "SIU":
        return _failed(
            base,
            gettext_noop("Meldingstypen %(type)s tas ikke imot; bare SIU.")
            % {"type": base.message_type or "–"},
            "AR",
            ERR_UNSUPPORTED_TYPE,
        )
    trigger = _value(msh, 9, 1, 2)
    if trigger not in TRIGGERS:
        return _failed(
            base,
            gettext_noop("Hendelsen %(event)s tas ikke imot (S12, S13, S14, S15, S26).")
            % {"event": trigger or "–"},
            "AR",
            ERR_UNSUPPORTED_EVENT,
        )
    if base.unit is None:
        return _failed(base, unknown_unit(base.unit_code), "AE", ERR_UNKNOWN_KEY)
    sch, pid = _first(message, "SCH"), _first(message, "PID")
    settings_row = units.feed_settings(base.unit)
    field_map = (settings_row.field_map if settings_row else None) or {}
    try:
        mapped = {
            name: _mapped(message, str(field_map[name]))
            for name in MAPPABLE_FIELDS
            if name in field_map
        }
    except ValueError:
        return _failed(
            base,
            gettext_noop("Enhetens feltoppsett for timebokstrømmen kan ikke brukes."),
            "AE",
            ERR_INTERNAL,
        )
    try:
        sent_at = _moment(_value(msh, 7))
        if "start" in mapped:
            start = _moment(mapped["start"])
        else:
            start = _moment(_value(_first(message, "AIS"), 4)) or _moment(_value(sch, 11, 1, 4))
        referral = _moment(mapped.get("referral_date", _value(_first(message, "RF1"), 7)))
    except ValueError:
        return _failed(
            base, gettext_noop("En dato i meldingen kan ikke leses."), "AE", ERR_DATA_TYPE
        )
    if sent_at is None:
        return _failed(base, gettext_noop("MSH-7 (meldingstid) mangler."), "AE", ERR_REQUIRED)
    appointment_id = mapped.get("appointment_id", _value(sch, 2) or _value(sch, 1))
    if not appointment_id:
        return _failed(base, gettext_noop("SCH-2 (time-id) mangler."), "AE", ERR_REQUIRED)
    national_id = mapped.get("national_id", _national_id(pid))
    if not national_id:
        return _failed(base, gettext_noop("PID-3 har ikke noe fødselsnummer."), "AE", ERR_REQUIRED)
    try:
        parse_national_id(national_id)
    except NationalIdError as exc:
        event = _event(base, trigger, sch, message, national_id, pid, sent_at, start, referral)
        base = replace(base, event=_with_mapped(event, mapped))
        return _failed(
            base,
            gettext_noop("Ugyldig fødselsnummer i PID-3: %(reason)s")
            % {"reason": " ".join(exc.messages)},
            "AE",
            ERR_DATA_TYPE,
        )
    event = _event(base, trigger, sch, message, national_id, pid, sent_at, start, referral)
    event = _with_mapped(event, mapped)
    base = replace(base, event=event)
    if event.kind in (EventKind.BOOK, EventKind.MOVE) and start is None:
        return _failed(
            base,
            gettext_noop("Meldingen mangler starttid for timen (AIS-4 eller SCH-11)."),
            "AE",
            ERR_REQUIRED,
        )
    return base


def _event(
    base: Parsed,
    trigger: str,
    sch: hl7.Segment | None,
    message: hl7.Message,
    national_id: str,
    pid: hl7.Segment | None,
    sent_at: dt.datetime,
    start: dt.datetime | None,
    referral: dt.datetime | None,
) -> AppointmentEvent:
    kind = STATUSES.get(_value(sch, 25).upper().replace("-", "").replace(" ", ""))
    aips = _all(message, "AIP")
    resources = tuple(
        r
        for r in [_value(seg, 3) for seg in _all(message, "AIG")] + [_value(seg, 3) for seg in aips]
        if r
    )
    return AppointmentEvent(
        kind=kind or TRIGGERS[trigger],
        source=base.source,
        appointment_id=_value(sch, 2) or _value(sch, 1),
        message_id=base.message_id,
        message_time=sent_at,
        national_id=national_id,
        patient_name=_name(pid),
        start=oslo_date(start) if start else None,
        referral_date=oslo_date(referral) if referral else None,
        clinician=_value(aips[0], 3) if aips else "",
        appointment_types=tuple(t for t in (_value(sch, 7), _value(sch, 8)) if t),
        resources=resources,
    )


def ack(parsed: Parsed) -> str:
    """The ACK for ``parsed``: MSA-1 the code, MSA-2 the message's control id, MSA-3 and ERR
    the reason when it is not AA."""
    if parsed.message is not None:
        reply = parsed.message.create_ack(parsed.ack, application="NNRR", facility="NNRR")
        header = str(reply).split("\r", 1)[0]
    else:
        now = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
        header = f"MSH|^~\\&|NNRR|NNRR|||{now}||ACK|{now}|P|2.5"
    lines = [header, f"MSA|{parsed.ack}|{_escape(parsed.message_id)}"]
    if parsed.failure:
        text = _escape(parsed.failure)
        lines[1] += f"|{text}"
        lines.append(f"ERR|||{parsed.error or ERR_INTERNAL}|E||||{text}")
    return "\r".join(lines) + "\r"


def _escape(text: str) -> str:
    for char, escape in (
        ("\\", "\\E\\"),
        ("|", "\\F\\"),
        ("^", "\\S\\"),
        ("&", "\\T\\"),
        ("~", "\\R\\"),
    ):
        text = text.replace(char, escape)
    return text.replace("\r", " ").replace("\n", " ")
