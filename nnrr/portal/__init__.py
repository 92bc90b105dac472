"""The patient-facing ePROM filling portal (link or one-time code + date of birth)."""
