from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import path

from sessions_app.consumers import OperatorDashboardConsumer, SessionEventsConsumer

websocket_urlpatterns = [
    path("ws/sessions/<str:session_id>/events", SessionEventsConsumer.as_asgi()),
    path("ws/dashboard", OperatorDashboardConsumer.as_asgi()),
]


def origin_checked(application):
    """Accept WebSockets from our own hosts and from the sites the widget is allowed on.

    Even where CORS lets every origin call the API (the development policy), sockets keep to
    these: a page elsewhere falls back to long-polling, which CORS governs.
    """
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return OriginValidator(application, hosts + list(settings.PARLANT_WIDGET_ORIGINS))
