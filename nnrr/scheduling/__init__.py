"""Questionnaire dispatch: rules (pure functions), orders, the outbox, channels and the worker.

Course lifecycle actions that span forms and orders (booking, rebooking, re-ordering, withdrawal,
the purge of unconsented courses) live in :mod:`nnrr.scheduling.services`, the lowest layer that
sees courses, responses and orders together.
"""
