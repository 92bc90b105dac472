from django.urls import path

from nnrr.appointments import views

app_name = "appointments"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:message_id>/", views.detail, name="detail"),
    path("<int:message_id>/behandle/", views.retry, name="retry"),
    path("<int:message_id>/handtert/", views.handled, name="handled"),
]
