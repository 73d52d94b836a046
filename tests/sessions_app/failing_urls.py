"""A URLconf with one view that fails, to see what a server error looks like to a client."""

from django.urls import path

from parlant_site.urls import handler404, handler500, urlpatterns  # noqa: F401


def failing_view(request):
    raise RuntimeError("secret internals: password=hunter2")


urlpatterns = [path("failing", failing_view), *urlpatterns]
