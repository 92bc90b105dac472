from django.http import Http404
from django.urls import path

app_name = "questionnaires"


def _todo(request, response_id):  # type: ignore[no-untyped-def]
    raise Http404


urlpatterns = [
    path("skjema/<uuid:response_id>/", _todo, name="response"),
    path("skjema/<uuid:response_id>/fyll-ut/", _todo, name="fill"),
]
