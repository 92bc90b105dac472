from django.http import Http404
from django.urls import path

app_name = "scheduling"


def _todo(request, **kw):  # type: ignore[no-untyped-def]
    raise Http404


urlpatterns = [
    path("pasient/<uuid:patient_id>/bestill-eprom/", _todo, name="order"),
    path("bestilling/<uuid:order_id>/bestill-pa-nytt/", _todo, name="reorder"),
    path("demo/meldinger/", _todo, name="demo_outbox"),
]
