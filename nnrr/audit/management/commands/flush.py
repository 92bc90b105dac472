"""``flush`` that also empties the append-only audit table.

Django's flush (also run by the test suite after each transactional test) empties every table;
the audit table's triggers refuse that, so they are lifted for the flush and restored after it.
Only the owner of the tables can do this (see docs/operations.md: the application's own role
cannot).
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as DjangoFlush
from django.db import connections

from nnrr.audit import triggers


class Command(DjangoFlush):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        with triggers.suspended(connection):
            super().handle(**options)
