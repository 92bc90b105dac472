from django.urls import path

from nnrr.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("vis/", views.show, name="show"),
    path("nasjonal-indikatorfil/", views.national_file_view, name="national_file"),
]
