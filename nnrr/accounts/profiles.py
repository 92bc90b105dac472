"""The active profile: the (role, unit) a user has chosen to work as, and what each role may do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from nnrr.accounts.models import Membership, Role, Unit, User
from nnrr.lib.dates import today_oslo
from nnrr.lib.scopes import unscoped

PROFILE_SESSION_KEY = "nnrr_membership_id"


class Right(StrEnum):
    FORMS = (
        "forms"  # search and register patients, book courses, fill forms, order ePROM, worklists
    )
    RETURN_FORMS = "return_forms"  # return a completed Behandlerskjema to draft
    AUDIT_LOG = "audit_log"  # read the access log
    EXPORT = "export"  # export the unit's data
    REPORTS = "reports"  # reports and indicators
    ADMINISTER = "administer"  # units, users, access applications (national secretariat)
    MANAGE_ACCESS = "manage_access"  # applications and memberships (own unit's form roles, or all)
    # "Mottatte avtaler": the unit's messages from its booking system (the national secretariat:
    # those naming no known unit)
    RECEIVED_APPOINTMENTS = "received_appointments"


ROLE_RIGHTS: dict[str, frozenset[Right]] = {
    Role.PASIENTANSVARLIG: frozenset({Right.FORMS}),
    Role.LOKAL_REGISTERANSVARLIG: frozenset(
        {
            Right.FORMS,
            Right.RETURN_FORMS,
            Right.AUDIT_LOG,
            Right.EXPORT,
            Right.REPORTS,
            Right.MANAGE_ACCESS,
            Right.RECEIVED_APPOINTMENTS,
        }
    ),
    Role.DATADUMPRAPPORTLESER: frozenset({Right.EXPORT}),
    Role.RAPPORTLESER: frozenset({Right.REPORTS}),
    Role.REGISTERADMINISTRATOR: frozenset(
        {
            Right.AUDIT_LOG,
            Right.EXPORT,
            Right.REPORTS,
            Right.ADMINISTER,
            Right.MANAGE_ACCESS,
            Right.RECEIVED_APPOINTMENTS,
        }
    ),
}


@dataclass(frozen=True)
class Profile:
    membership_id: int
    user: User
    unit: Unit
    role: str
    can_export_identifiable: bool = False
    # Read with the profile on each request: something waits in "Mine uferdige skjema" (the red
    # dot on "Arbeidsliste" in every page's header).
    worklist_waiting: bool = False

    @classmethod
    def from_membership(cls, membership: Membership) -> Profile:
        return cls(
            membership.pk,
            membership.user,
            membership.unit,
            membership.role,
            membership.can_export_identifiable,
        )

    def has(self, right: Right) -> bool:
        return right in ROLE_RIGHTS.get(self.role, frozenset())

    @property
    def is_national(self) -> bool:
        """The national secretariat (Registeradministrator): it sees and administers every
        unit, where every other role works within its own unit. The one definition of the
        rule; every page, service and export asks it here."""
        return self.role == Role.REGISTERADMINISTRATOR

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)

    @property
    def label(self) -> str:
        return _("%(role)s ved %(unit)s") % {"role": self.role_label, "unit": self.unit.name}


def load_profile(request: HttpRequest) -> Profile | None:
    """The profile stored in the session, if it still belongs to the logged-in user."""
    user = request.user
    if not user.is_authenticated:
        return None
    membership_id = request.session.get(PROFILE_SESSION_KEY)
    if membership_id is None:
        return None
    from nnrr.worklists.models import UnfinishedCourse

    # The red dot rides on this read (an index probe of the worklists' marker), rather than
    # costing every page a query of its own. The unit is not known before the read: the marker
    # is joined to the membership's own unit (the one the profile's scope will be).
    with unscoped("the red dot: the marker of the membership's own unit, joined to it"):
        waiting = UnfinishedCourse.objects.filter(
            unit_id=OuterRef("unit_id"), owner_id=OuterRef("user_id")
        )
    membership = (
        active_memberships()
        .select_related("unit")
        .filter(pk=membership_id, user_id=user.pk)
        .annotate(worklist_waiting=Exists(waiting))
        .first()
    )
    if membership is None:
        return None
    return Profile(
        membership.pk,
        user,
        membership.unit,
        membership.role,
        membership.can_export_identifiable,
        worklist_waiting=membership.worklist_waiting,
    )


def active_memberships() -> QuerySet[Membership]:
    """Memberships that work today: the unit is active and the end date, if any, not passed."""
    today = today_oslo(timezone.now())
    return Membership.objects.filter(unit__is_active=True).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=today)
    )
