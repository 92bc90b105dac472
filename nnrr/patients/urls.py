from django.urls import path

from nnrr.patients import registry_views, views

app_name = "patients"
urlpatterns = [
    path("", views.front_page, name="front"),
    path("pasient/sok/", views.patient_search, name="search"),
    path("opprett/", views.create_search, name="create_search"),
    path("pasient/registrer/", views.patient_register, name="register"),
    path("pasient/<uuid:patient_id>/", views.patient_detail, name="detail"),
    path("pasient/<uuid:patient_id>/kontakt/", views.patient_contact, name="contact"),
    path("pasient/<uuid:patient_id>/trekk-samtykke/", views.patient_withdraw, name="withdraw"),
    path("pasient/<uuid:patient_id>/opprett/", views.new_form, name="new_form"),
    path(
        "pasient/<uuid:patient_id>/opprett/behandlerskjema/",
        views.create_clinician_form,
        name="create_clinician_form",
    ),
    path("forlop/<uuid:course_id>/datoer/", views.course_dates, name="course_dates"),
    path("forlop/<uuid:course_id>/nytt-forlop/", views.course_recreate, name="course_recreate"),
    path("forlop/<uuid:course_id>/slett/", views.course_delete, name="course_delete"),
    path("forlop/<uuid:course_id>/eier/", views.course_owner, name="course_owner"),
    path(
        "register/trekk-samtykke/",
        registry_views.registry_withdraw,
        name="registry_withdraw",
    ),
]
