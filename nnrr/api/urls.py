from django.urls import path, re_path

from nnrr.api import views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("Questionnaire", views.questionnaire_search, name="questionnaire_search"),
    path("Questionnaire/<str:questionnaire_id>", views.questionnaire_read, name="questionnaire"),
    path("QuestionnaireResponse", views.questionnaire_responses, name="responses"),
    path(
        "QuestionnaireResponse/<uuid:response_id>",
        views.questionnaire_response_read,
        name="response",
    ),
    path("DocumentReference", views.document_search, name="document_search"),
    path("DocumentReference/<uuid:document_id>", views.document_read, name="document_reference"),
    path("Binary/<str:binary_id>", views.binary_read, name="binary"),
    path("Patient", views.patient_search, name="patient_search"),
    path("Patient/<uuid:patient_id>", views.patient_read, name="patient"),
    re_path(r"^(?P<rest>.*)$", views.not_found_view),
]
