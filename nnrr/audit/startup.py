"""The start-up check of the database role: production never runs as a role that could lift
the audit log's append-only triggers.

The triggers refuse UPDATE, DELETE and TRUNCATE of ``audit_auditevent`` whatever code asks, but
the table's owner (and any member of the owner's role, and a superuser) can drop or disable
them. gunicorn (``nnrr/wsgi.py``) and the worker call :func:`refuse_unsafe_role` before they
serve or send anything; ``manage.py migrate`` does not, as the deploy runs it as the owner.
docs/operations.md ("Database roles") has the two roles and their grants.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from nnrr.audit.triggers import TABLE

FIX = (
    "Connect gunicorn and the worker as a role that owns nothing and may only read and write "
    "rows (nnrr_app in docs/operations.md, 'Database roles'); run migrate as the owner."
)


def unsafe_role_reasons() -> list[str]:
    """Why the current database role could lift the audit triggers (empty: it cannot)."""
    if connection.vendor != "postgresql":
        return [f"the database is {connection.vendor}, which has no roles"]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT current_user,
                   r.rolsuper,
                   c.oid IS NOT NULL,
                   COALESCE(pg_has_role(current_user, c.relowner, 'USAGE'), false),
                   COALESCE(has_table_privilege(current_user, c.oid, 'TRIGGER'), false)
            FROM pg_roles r
            LEFT JOIN pg_class c ON c.relname = %s AND c.relkind = 'r'
                AND c.relnamespace = to_regnamespace(current_schema())::oid
            WHERE r.rolname = current_user
            """,
            [TABLE],
        )
        row = cursor.fetchone()
    if row is None:
        return ["the current role was not found in pg_roles"]
    user, superuser, exists, owns, may_trigger = row
    reasons = []
    if superuser:
        reasons.append(f"the role {user!r} is a superuser")
    if not exists:
        reasons.append(f"the audit table {TABLE} does not exist (run migrate as the owner)")
    elif owns:
        reasons.append(
            f"the role {user!r} owns the audit table {TABLE} (or is in its owner's role)"
        )
    elif may_trigger:
        reasons.append(f"the role {user!r} has the TRIGGER privilege on {TABLE}")
    return reasons


def refuse_unsafe_role() -> None:
    """In production, refuse to start as a role that could drop the audit table's triggers."""
    if not settings.PRODUCTION:
        return
    reasons = unsafe_role_reasons()
    connection.close()  # the check's connection is not handed to a request
    if reasons:
        raise ImproperlyConfigured(
            "Refusing to start with NNRR_PRODUCTION=1: " + "; ".join(reasons) + ". " + FIX
        )
