"""ASGI entry point: HTTP to Django; WebSockets through origin checks and auth to the consumers."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parlant_site.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from operations.connections import TrackedConnections, install_daphne_graceful_stop  # noqa: E402
from sessions_app.routing import origin_checked, websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Requests and sockets are counted for the metrics and for a graceful stop.
        "http": TrackedConnections(django_asgi_app),
        # Like AllowedHostsOriginValidator, plus the widget's sites (PARLANT_WIDGET_ORIGINS).
        "websocket": TrackedConnections(
            origin_checked(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
# SIGTERM drains (long-polls answer, WebSockets close with 4012) before Daphne stops.
install_daphne_graceful_stop(grace_seconds=settings.PARLANT_SHUTDOWN_GRACE_SECONDS)
