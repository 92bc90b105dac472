"""Pages for "Søk om tilgang" and the administration of applications, users, roles and units."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from nnrr.accounts.decorators import profile_required
from nnrr.accounts.models import AccessApplication, Membership, Unit, User
from nnrr.accounts.profiles import Profile, Right, active_memberships
from nnrr.administration import people
from nnrr.administration import services as admin
from nnrr.administration.forms import (
    ApplicationForm,
    ApproveForm,
    GrantForm,
    MembershipForm,
    NewUserForm,
    RejectForm,
    UnitForm,
)
from nnrr.audit.context import Actor
from nnrr.audit.services import not_found


def _lookup(request: HttpRequest, queryset: QuerySet[Any], kind: str, pk: int) -> Any:
    """The object if the active profile may see it; otherwise 404 like a missing one, logged."""
    obj: Model | None = queryset.filter(pk=pk).first()
    if obj is None:
        raise not_found(request, kind, pk)
    return obj


def _profile(request: HttpRequest) -> Profile:
    return request.profile  # type: ignore[attr-defined]


# --- Søk om tilgang ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest) -> HttpResponse:
    """A logged-in person applies for roles at a unit."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse(settings.LOGIN_URL)}?next={reverse('accounts:apply')}")
    user: User = request.user
    pending = (
        AccessApplication.objects.filter(applicant=user, status=AccessApplication.Status.PENDING)
        .select_related("unit")
        .first()
    )
    has_roles = active_memberships().filter(user=user).exists()
    form = ApplicationForm(request.POST or None, initial={"work_email": user.email})
    if request.method == "POST":
        if pending is not None:
            messages.warning(
                request,
                _("Du har allerede en søknad som venter på behandling. Du får svar på e-post."),
            )
            return redirect("accounts:apply")
        if form.is_valid():
            data = form.cleaned_data
            try:
                admin.submit_application(
                    Actor.from_request(request),
                    applicant=user,
                    work_email=data["work_email"],
                    unit=data["unit"],
                    roles=data["roles"],
                    identifiable_export=data["identifiable_export"],
                    comment=data["comment"],
                )
            except admin.Refused as exc:
                messages.warning(request, str(exc))
            else:
                messages.success(
                    request, _("Søknaden er sendt. Du får svar på e-post når den er behandlet.")
                )
            return redirect("accounts:apply")
    return render(
        request,
        "accounts/apply.html",
        {"form": form, "pending": pending, "has_roles": has_roles},
    )


# --- Applications -----------------------------------------------------------------------------


@profile_required(Right.MANAGE_ACCESS)
def applications(request: HttpRequest) -> HttpResponse:
    profile = _profile(request)
    queryset = admin.applications_for(profile)
    pending = [
        (a, admin.can_decide(profile, a))
        for a in queryset.filter(status=AccessApplication.Status.PENDING).order_by("created_at")
    ]
    decided = Paginator(
        queryset.exclude(status=AccessApplication.Status.PENDING).order_by("-decided_at"), 25
    ).get_page(request.GET.get("side"))
    return render(
        request,
        "accounts/admin/applications.html",
        {"pending": pending, "decided": decided, "national": profile.is_national},
    )


@profile_required(Right.MANAGE_ACCESS)
@require_http_methods(["GET", "POST"])
def application_detail(request: HttpRequest, application_id: int) -> HttpResponse:
    profile = _profile(request)
    application: AccessApplication = _lookup(
        request, admin.applications_for(profile), "access_application", application_id
    )
    approve_form = ApproveForm()
    reject_form = RejectForm()
    if request.method == "POST":
        actor = Actor.from_request(request)
        decision = request.POST.get("decision")
        try:
            if decision == "approve":
                approve_form = ApproveForm(request.POST)
                if approve_form.is_valid():
                    admin.approve(
                        profile,
                        actor,
                        application,
                        valid_until=approve_form.cleaned_data["valid_until"],
                    )
                    messages.success(
                        request, _("Søknaden er godkjent, og søkeren har fått e-post.")
                    )
                    return redirect("accounts:applications")
            elif decision == "reject":
                reject_form = RejectForm(request.POST)
                if reject_form.is_valid():
                    admin.reject(
                        profile, actor, application, reason=reject_form.cleaned_data["reason"]
                    )
                    messages.success(request, _("Søknaden er avslått, og søkeren har fått e-post."))
                    return redirect("accounts:applications")
            else:
                messages.error(request, _("Velg godkjenn eller avslå."))
        except admin.Refused as exc:
            messages.error(request, str(exc))
            return redirect("accounts:application", application_id=application.pk)
    return render(
        request,
        "accounts/admin/application.html",
        {
            "application": application,
            "can_decide": admin.can_decide(profile, application)
            and application.status == AccessApplication.Status.PENDING,
            "approve_form": approve_form,
            "reject_form": reject_form,
        },
    )


# --- Users and memberships --------------------------------------------------------------------


@profile_required(Right.MANAGE_ACCESS)
def users(request: HttpRequest) -> HttpResponse:
    profile = _profile(request)
    queryset = admin.users_for(profile).order_by("full_name")
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    if query:
        queryset = queryset.filter(Q(full_name__icontains=query) | Q(email__icontains=query))
    page = Paginator(queryset.prefetch_related("memberships__unit"), 50).get_page(
        request.GET.get("side")
    )
    return render(
        request,
        "accounts/admin/users.html",
        {"page": page, "query": query, "national": profile.is_national},
    )


@profile_required(Right.MANAGE_ACCESS)
@require_http_methods(["GET", "POST"])
def user_new(request: HttpRequest) -> HttpResponse:
    """A person the registry should know before their first eID login (bound by fødselsnummer)."""
    form = NewUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        profile = _profile(request)
        found = people.look_up_or_add(
            profile=profile,
            actor=Actor.from_request(request),
            national_id=form.cleaned_data["national_id"].value,
            full_name=form.cleaned_data["full_name"],
            email=form.cleaned_data["email"],
        )
        _remember_found(request, found.user.pk, form.cleaned_data["full_name"])
        if profile.is_national:
            messages.info(
                request,
                _("Personen er lagt til. Gi en rolle nedenfor.")
                if found.created
                else _("Personen finnes allerede i registeret. Gi rollen nedenfor."),
            )
        else:
            # The same words whether the number was known: it tells nothing about other units.
            messages.info(request, _("Personen er registrert. Gi en rolle nedenfor."))
        return redirect("accounts:user", user_id=found.user.pk)
    return render(request, "accounts/admin/user_new.html", {"form": form})


FOUND_USERS_SESSION_KEY = "nnrr_admin_found_users"


FOUND_NAMES_SESSION_KEY = "nnrr_admin_found_names"


def _remember_found(request: HttpRequest, user_id: int, typed_name: str) -> None:
    found = list(request.session.get(FOUND_USERS_SESSION_KEY, []))[-20:]
    request.session[FOUND_USERS_SESSION_KEY] = [*found, user_id]
    names = dict(list(request.session.get(FOUND_NAMES_SESSION_KEY, {}).items())[-20:])
    request.session[FOUND_NAMES_SESSION_KEY] = {**names, str(user_id): typed_name}


def _user_for_grant(request: HttpRequest, user_id: int) -> User:
    """The person's page: visible to the Lokal registeransvarlig for people of their unit, and
    for a person they added or found by fødselsnummer in this session."""
    profile = _profile(request)
    visible = admin.users_for(profile)
    if not profile.is_national:
        found = [
            pk for pk in request.session.get(FOUND_USERS_SESSION_KEY, []) if isinstance(pk, int)
        ]
        visible = User.objects.filter(Q(pk__in=visible.values("pk")) | Q(pk__in=found)).distinct()
    return _lookup(request, visible, "user", user_id)


@profile_required(Right.MANAGE_ACCESS)
@require_http_methods(["GET", "POST"])
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    profile = _profile(request)
    person = _user_for_grant(request, user_id)
    grant_form = GrantForm(
        request.POST or None,
        units=admin.grantable_units(profile),
        roles=admin.grantable_roles(profile),
    )
    if request.method == "POST" and grant_form.is_valid():
        data = grant_form.cleaned_data
        try:
            admin.grant(
                profile,
                Actor.from_request(request),
                user=person,
                unit=data["unit"],
                role=data["role"],
                valid_until=data["valid_until"],
                can_export_identifiable=data["can_export_identifiable"],
            )
        except admin.Refused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Rollen er gitt."))
            return redirect("accounts:user", user_id=person.pk)
    memberships = [
        (m, admin.can_manage(profile, m))
        for m in admin.memberships_for(profile).filter(user=person).order_by("unit__name", "role")
    ]
    working = set(active_memberships().filter(user=person).values_list("pk", flat=True))
    # A person found only by the number the caller typed ("Ny bruker"): none of their own data.
    own_data = profile.is_national or admin.users_for(profile).filter(pk=person.pk).exists()
    typed = request.session.get(FOUND_NAMES_SESSION_KEY, {}).get(str(person.pk), "")
    return render(
        request,
        "accounts/admin/user.html",
        {
            "person": person,
            "person_name": str(person) if own_data else typed,
            "person_email": person.email if own_data else "",
            "memberships": memberships,
            "working": working,
            "grant_form": grant_form,
            "is_self": person.pk == profile.user.pk,
            "national": profile.is_national,
        },
    )


@profile_required(Right.MANAGE_ACCESS)
@require_POST
def membership_change(request: HttpRequest, membership_id: int) -> HttpResponse:
    profile = _profile(request)
    membership: Membership = _lookup(
        request, admin.memberships_for(profile), "membership", membership_id
    )
    actor = Actor.from_request(request)
    try:
        if request.POST.get("action") == "end":
            admin.end_now(profile, actor, membership)
            messages.success(request, _("Rollen er avsluttet og virker ikke lenger."))
        else:
            form = MembershipForm(request.POST)
            if not form.is_valid():
                for errors in form.errors.values():
                    messages.error(request, str(errors[0]))
                return redirect("accounts:user", user_id=membership.user_id)
            admin.change(
                profile,
                actor,
                membership,
                valid_until=form.cleaned_data["valid_until"],
                can_export_identifiable=form.cleaned_data["can_export_identifiable"],
            )
            messages.success(request, _("Endringen er lagret."))
    except admin.Refused as exc:
        messages.error(request, str(exc))
    return redirect("accounts:user", user_id=membership.user_id)


# --- Units ------------------------------------------------------------------------------------


@profile_required(Right.ADMINISTER)
@require_http_methods(["GET", "POST"])
def units(request: HttpRequest) -> HttpResponse:
    form = UnitForm(request.POST or None, prefix="ny")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if Unit.objects.filter(pk=data["resh_id"]).exists():
            form.add_error("resh_id", _("Det finnes allerede en enhet med denne reshID-en."))
        else:
            try:
                admin.save_unit(
                    _profile(request),
                    Actor.from_request(request),
                    Unit(resh_id=data["resh_id"]),
                    name=data["name"],
                    short_name=data["short_name"],
                    organisation_number=data["organisation_number"],
                    is_active=data["is_active"],
                    adding=True,
                )
            except admin.Refused as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("Enheten er lagt til."))
                return redirect("accounts:units")
    return render(
        request,
        "accounts/admin/units.html",
        {"units": Unit.objects.order_by("-is_active", "name"), "form": form},
    )


@profile_required(Right.ADMINISTER)
@require_http_methods(["GET", "POST"])
def unit_detail(request: HttpRequest, resh: int) -> HttpResponse:
    unit: Unit = _lookup(request, Unit.objects.all(), "unit", resh)
    initial = {
        "resh_id": unit.pk,
        "name": unit.name,
        "short_name": unit.short_name,
        "organisation_number": unit.organisation_number,
        "is_active": unit.is_active,
    }
    form = UnitForm(request.POST or None, initial=initial)
    form.fields["resh_id"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            admin.save_unit(
                _profile(request),
                Actor.from_request(request),
                unit,
                name=data["name"],
                short_name=data["short_name"],
                organisation_number=data["organisation_number"],
                is_active=data["is_active"],
            )
        except admin.Refused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Enheten er lagret."))
            return redirect("accounts:units")
    return render(request, "accounts/admin/unit.html", {"unit": unit, "form": form})
