"""Append-only audit events: every read of patient data and every change writes one."""
