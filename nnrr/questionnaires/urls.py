from django.urls import path

from nnrr.questionnaires import views

app_name = "questionnaires"
urlpatterns = [
    path("skjema/<uuid:response_id>/", views.response_detail, name="response"),
    path("skjema/<uuid:response_id>/fyll-ut/", views.fill, name="fill"),
    path("skjema/<uuid:response_id>/lagre-kladd/", views.autosave, name="autosave"),
    path("skjema/<uuid:response_id>/returner/", views.return_form, name="return"),
    path("skjema/<uuid:response_id>/journalnotat/", views.journal, name="journal"),
    path("forlop/<uuid:course_id>/papirskjema/<str:kind>/", views.paper_form, name="paper"),
    path(
        "forlop/<uuid:course_id>/papirskjema/<str:kind>/utskrift.pdf",
        views.paper_print,
        name="paper_print",
    ),
    path("papirskjema/<str:kind>/blankt.pdf", views.paper_blank, name="paper_blank"),
    path("diagnoser/sok/", views.diagnosis_search, name="diagnosis_search"),
    path("diagnoser/sjekk/", views.diagnosis_check, name="diagnosis_check"),
    path("diagnoser/grupper/", views.diagnosis_groups, name="diagnosis_groups"),
    path("diagnoser/gruppe/<int:number>/", views.diagnosis_group, name="diagnosis_group"),
]
