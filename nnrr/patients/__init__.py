"""Patients, their registration at units, and courses (forløp)."""
