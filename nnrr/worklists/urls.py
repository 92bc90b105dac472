from django.urls import path

from nnrr.worklists import views

app_name = "worklists"
urlpatterns = [
    path("arbeidsliste/", views.index, name="index"),
    path("arbeidsliste/mine/", views.mine, name="mine"),
    path("arbeidsliste/utgatt/", views.overdue, name="overdue"),
    path("arbeidsliste/avdelingen/", views.unit, name="unit"),
    path("arbeidsliste/samtykke/", views.consent, name="consent"),
]
