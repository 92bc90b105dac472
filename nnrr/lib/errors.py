"""Exceptions shared by the services."""


class ConflictError(Exception):
    """Someone else changed the object since it was read; nothing was overwritten."""
