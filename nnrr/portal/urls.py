from django.urls import path

from nnrr.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.start, name="start"),
    path("lenke/<str:token>/", views.link, name="link"),
    path("samtykke/", views.consent, name="consent"),
    path("skjema/<int:step>/", views.section, name="section"),
    path("send-inn/", views.review, name="review"),
    path("kvittering/", views.receipt, name="receipt"),
    path("avslutt/", views.leave, name="leave"),
]
