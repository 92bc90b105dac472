from django.urls import path

from nnrr.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("vis/", views.show, name="show"),
    path("graf/<str:token>/", views.chart_image, name="chart"),
    path("nasjonal-indikatorfil/", views.national_file_view, name="national_file"),
    path("dekningsgrad/", views.coverage_view, name="coverage"),
    path("datakvalitet/", views.quality_view, name="quality"),
    path("abonnement/", views.subscriptions_view, name="subscriptions"),
    path(
        "abonnement/<uuid:subscription_id>/",
        views.subscription_change,
        name="subscription_change",
    ),
    path("pdf/", views.documents_view, name="documents"),
    path("pdf/<uuid:document_id>/", views.document_view, name="document"),
    path("pdf/<uuid:document_id>/last-ned/", views.document_download, name="document_download"),
]
