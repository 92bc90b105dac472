"""SIU messages in the default profile, as a booking system sends them: for the simulator
(``nnrr demo appointments``), the tests and the benchmark."""

from __future__ import annotations

import datetime as dt

from nnrr.lib.dates import OSLO

FNR_OID = "2.16.578.1.12.4.1.4.1"
TRIGGER_STATUS = {
    "S12": "Booked",
    "S13": "Booked",
    "S14": "Booked",
    "S15": "Cancelled",
    "S26": "Noshow",
}


def _ts(moment: dt.datetime) -> str:
    return moment.astimezone(OSLO).strftime("%Y%m%d%H%M%S")


def build_siu(
    *,
    trigger: str,
    unit: int | str,
    message_id: str,
    sent_at: dt.datetime,
    appointment_id: str,
    national_id: str,
    family_name: str = "Nordmann",
    given_name: str = "Ola",
    start: dt.datetime | None = None,
    referral_date: dt.date | None = None,
    clinician: str = "",
    appointment_type: str = "NAKKERYGG^Nakke- og ryggpoliklinikk",
    resource: str = "",
    source: str = "DIPS",
    status: str | None = None,
) -> str:
    """One SIU^``trigger`` message (HL7 v2.5, segments separated by CR)."""
    status = status if status is not None else TRIGGER_STATUS.get(trigger, "Booked")
    start_ts = _ts(start) if start else ""
    segments = [
        f"MSH|^~\\&|{source}|{unit}|NNRR|NNRR|{_ts(sent_at)}||SIU^{trigger}^SIU_S12|{message_id}"
        "|P|2.5|||AL|NE||UNICODE UTF-8",
        f"SCH||{appointment_id}^{source}|||||{appointment_type}||30|min|^^30^{start_ts}"
        f"||||||||||||||{status}",
        f"PID|1||{national_id}^^^{FNR_OID}^FNR||{family_name}^{given_name}",
    ]
    if referral_date is not None:
        segments.append(
            f"RF1|A^Accepted|R^Routine|NEV^Nevrologisk|||REF-{appointment_id}"
            f"|{referral_date:%Y%m%d}"
        )
    segments.append("RGS|1|A")
    segments.append(f"AIS|1|A|NNRR-KONS^Konsultasjon nakke/rygg|{start_ts}")
    if resource:
        segments.append(f"AIG|1|A|{resource}")
    if clinician:
        segments.append(f"AIP|1|A|{clinician}^Behandler^Kari|LEGE")
    return "\r".join(segments) + "\r"
