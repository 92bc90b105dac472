"""Units, users, identities and memberships."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Unit(models.Model):
    """A reporting clinic, identified by its reshID (``UnitId``)."""

    resh_id = models.PositiveIntegerField(_("reshID"), primary_key=True)
    name = models.CharField(_("navn"), max_length=200)
    short_name = models.CharField(_("kortnavn"), max_length=60)
    organisation_number = models.CharField(_("organisasjonsnummer"), max_length=9)
    is_active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        ordering = ["short_name"]
        verbose_name = _("enhet")
        verbose_name_plural = _("enheter")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who works with the registry.

    The account is bound to identities from the identity provider (:class:`Identity`), never to an
    e-mail address; ``email`` is only where notices go.
    """

    full_name = models.CharField(_("navn"), max_length=200)
    # The person's fødselsnummer: how an eID login is bound to this account the first time.
    national_id = models.CharField(
        _("fødselsnummer"), max_length=11, null=True, blank=True, unique=True
    )

    class Meta:
        ordering = ["full_name"]
        verbose_name = _("bruker")
        verbose_name_plural = _("brukere")

    def __str__(self) -> str:
        return self.full_name or self.username


class Identity(models.Model):
    """A login identity: the subject an identity provider vouches for (Norwegian eID: the pid)."""

    class Provider(models.TextChoices):
        IDPORTEN = "idporten", "ID-porten"
        HELSEID = "helseid", "HelseID"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="identities")
    provider = models.CharField(max_length=20, choices=Provider.choices)
    # The OpenID provider's issuer; empty for the demo Test IDP, whose subject is the fødselsnummer.
    issuer = models.CharField(max_length=300, blank=True, default="")
    subject = models.CharField(max_length=255)
    # The fødselsnummer (``pid``) the provider vouched for when this identity was bound.
    national_id = models.CharField(max_length=11, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "issuer", "subject"], name="identity_unique_issuer_subject"
            )
        ]
        verbose_name = _("identitet")
        verbose_name_plural = _("identiteter")

    def __str__(self) -> str:
        return f"{self.provider}:{self.subject[:6]}…"


class Role(models.TextChoices):
    PASIENTANSVARLIG = "pasientansvarlig", _("Pasientansvarlig")
    LOKAL_REGISTERANSVARLIG = "lokal_registeransvarlig", _("Lokal registeransvarlig")
    DATADUMPRAPPORTLESER = "datadumprapportleser", _("Datadumprapportleser")
    RAPPORTLESER = "rapportleser", _("Rapportleser")
    REGISTERADMINISTRATOR = "registeradministrator", _("Registeradministrator")


class Membership(models.Model):
    """A role a user holds at a unit; chosen after login as the active *profile*."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("rolle"), max_length=30, choices=Role.choices)
    can_export_identifiable = models.BooleanField(
        _("kan eksportere identifiserbare data"),
        default=False,
        help_text=_("Egen tillatelse, i tillegg til rollens eksportrett."),
    )
    valid_until = models.DateField(
        _("gyldig til og med"),
        null=True,
        blank=True,
        help_text=_("Tilgangen slutter å virke dagen etter denne datoen."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["unit__short_name", "role"]
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "role"], name="membership_unique_role")
        ]
        verbose_name = _("tilgang")
        verbose_name_plural = _("tilganger")

    def __str__(self) -> str:
        return str(
            _("%(role)s ved %(unit)s") % {"role": self.get_role_display(), "unit": self.unit.name}
        )


# The roles a person can apply for, grouped as in the manual's application form.
FORM_ROLES = (Role.PASIENTANSVARLIG,)
DATA_ROLES = (Role.LOKAL_REGISTERANSVARLIG, Role.DATADUMPRAPPORTLESER, Role.RAPPORTLESER)


class AccessApplication(models.Model):
    """ "Søk om tilgang": a person's application for roles at a unit, and its decision."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Venter")
        APPROVED = "approved", _("Godkjent")
        REJECTED = "rejected", _("Avslått")

    applicant = models.ForeignKey(User, on_delete=models.CASCADE, related_name="applications")
    work_email = models.EmailField(_("e-post på jobb"))
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="applications")
    roles = models.JSONField(_("roller"), default=list)
    identifiable_export = models.BooleanField(_("eksport med personopplysninger"), default=False)
    comment = models.TextField(_("kommentar"), max_length=1000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decision_reason = models.TextField(_("begrunnelse"), blank=True, max_length=1000)
    valid_until = models.DateField(_("gyldig til og med"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["applicant"],
                condition=models.Q(status="pending"),
                name="application_one_pending_per_person",
            )
        ]
        verbose_name = _("tilgangssøknad")
        verbose_name_plural = _("tilgangssøknader")

    def __str__(self) -> str:
        return f"{self.applicant} → {self.unit.short_name} ({self.status})"

    @property
    def role_labels(self) -> list[str]:
        return [str(Role(role).label) for role in self.roles if role in Role.values]

    @property
    def only_form_roles(self) -> bool:
        return (
            bool(self.roles)
            and all(role in FORM_ROLES for role in self.roles)
            and not self.identifiable_export
        )
