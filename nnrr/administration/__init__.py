"""The pages of the Lokal registeransvarlig and the Registeradministrator: the Logg and innsyn,
access applications, users, memberships and units. They sit above the apps whose data they show
(accounts, audit, patients), so those apps never import a page."""
