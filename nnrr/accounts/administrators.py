"""The registry always keeps a working Registeradministrator, on every day from now on.

Only a Registeradministrator can give the roles that run the registry (and mend access), so a
change that leaves no Registeradministrator from some day on could only be repaired from the
server's shell. Every change that can take that role away (an end date, "Avslutt nå", a removed
membership or role, a deactivated person or unit) runs inside :func:`keeping_an_administrator`:
the change is made, and undone with a message saying why if, after it, the days covered by a
working Registeradministrator end sooner than before and not never. A working
Registeradministrator is an active person with that role at an active unit; with no end date
they cover every day, with one every day up to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django.db.models import Q
from django.utils import formats
from django.utils.translation import gettext as _

from nnrr.accounts.models import Membership, Role

FOREVER = dt.date.max


class NoAdministratorLeft(Exception):
    """The change would leave the registry without a Registeradministrator from ``first_day``."""

    def __init__(self, first_day: dt.date) -> None:
        self.first_day = first_day
        super().__init__(
            _(
                "Endringen er ikke gjort: fra %(date)s ville ingen hatt rollen "
                "Registeradministrator, og bare en Registeradministrator kan gi den. Minst én "
                "Registeradministrator må ha tilgangen uten sluttdato. Gi rollen til en annen "
                "først."
            )
            % {"date": formats.date_format(first_day, "d.m.Y")}
        )


def covered_until(today: dt.date, *, lock: bool = False) -> dt.date:
    """The last day from ``today`` on that a working Registeradministrator covers
    (:data:`FOREVER` with one without an end date; the day before ``today`` with none)."""
    administrators = Membership.objects.filter(
        role=Role.REGISTERADMINISTRATOR, user__is_active=True, unit__is_active=True
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
    if lock:
        # Two administrators ending each other at the same moment: the second waits for the
        # first and then sees its change.
        list(
            Membership.objects.select_for_update()
            .filter(role=Role.REGISTERADMINISTRATOR)
            .values_list("pk", flat=True)
        )
    last = today - dt.timedelta(days=1)
    for valid_until in administrators.values_list("valid_until", flat=True):
        if valid_until is None:
            return FOREVER
        last = max(last, valid_until)
    return last


@contextmanager
def keeping_an_administrator(today: dt.date) -> Iterator[None]:
    """Make the change in the block, and undo it (raising :class:`NoAdministratorLeft`) when
    afterwards a Registeradministrator covers fewer days from ``today`` than before and not
    every day. A gap there was already is not blamed on an unrelated change."""
    with transaction.atomic():
        before = covered_until(today, lock=True)
        yield
        after = covered_until(today)
        if after != FOREVER and after < before:
            raise NoAdministratorLeft(after + dt.timedelta(days=1))
