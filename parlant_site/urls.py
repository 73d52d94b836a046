from django.contrib import admin
from django.urls import path
from rest_framework.routers import SimpleRouter

from behavior.views import AgentViewSet
from sessions_app import chat
from sessions_app.views import CustomerViewSet, SessionViewSet, session_events

router = SimpleRouter(trailing_slash=False)
router.register("agents", AgentViewSet, basename="agent")
router.register("customers", CustomerViewSet, basename="customer")
router.register("sessions", SessionViewSet, basename="session")

urlpatterns = [
    path("", chat.chat_page, name="chat"),
    path("admin/", admin.site.urls),
    path("sessions/<str:session_id>/events", session_events, name="session-events"),
    path(
        "sessions",
        SessionViewSet.as_view({"get": "list", "post": "create", "delete": "delete_many"}),
        name="session-list",
    ),
    *router.urls,
]
