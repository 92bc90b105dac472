"""The worklists ("Arbeidsliste")."""
