"""Users, units, memberships (a role per unit), profile choice and login."""
