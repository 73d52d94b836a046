from django.contrib import admin
from django.urls import include, path
from rest_framework.routers import SimpleRouter

from behavior import views as behavior_views
from behavior.evaluations import EvaluationDetailView, EvaluationListView
from behavior.views import AgentViewSet
from parlant_site.docs import RedocDocsView, SchemaView, SwaggerDocsView
from quality import views as quality_views
from sessions_app import chat, dashboard, widget
from sessions_app.views import (
    CustomerTokenView,
    CustomerViewSet,
    SessionEventViewSet,
    SessionTurnViewSet,
    SessionViewSet,
    session_events,
)

router = SimpleRouter(trailing_slash=False)
router.register("agents", AgentViewSet, basename="agent")
router.register("customers", CustomerViewSet, basename="customer")
router.register("sessions", SessionViewSet, basename="session")
router.register("tags", behavior_views.TagViewSet, basename="tag")
router.register("guidelines", behavior_views.GuidelineViewSet, basename="guideline")
router.register("relationships", behavior_views.RelationshipViewSet, basename="relationship")
router.register("journeys", behavior_views.JourneyViewSet, basename="journey")
router.register("terms", behavior_views.TermViewSet, basename="term")
router.register(
    "context-variables", behavior_views.ContextVariableViewSet, basename="context-variable"
)
router.register(
    "canned_responses", behavior_views.CannedResponseViewSet, basename="canned-response"
)
router.register("capabilities", behavior_views.CapabilityViewSet, basename="capability")
router.register("services", behavior_views.ServiceViewSet, basename="service")
router.register("quality/test-runs", quality_views.TestRunViewSet, basename="test-run")
router.register("quality/suite-runs", quality_views.SuiteRunViewSet, basename="suite-run")

# The admin is where editors author agents: name the product, not "Django administration".
admin.site.site_header = "Parlant · Agent behaviour"
admin.site.site_title = "Parlant admin"
admin.site.index_title = "Agents and their behaviour"

urlpatterns = [
    path("", chat.chat_page, name="chat"),
    path("try/", chat.try_agents_page, name="try-agents"),
    path("admin/", admin.site.urls),
    path("", include("operations.urls")),
    path("dashboard/", dashboard.session_list_page, name="dashboard"),
    path("dashboard/sessions/<str:session_id>/", dashboard.session_page, name="dashboard-session"),
    path("dashboard/api/sessions", dashboard.sessions_json, name="dashboard-sessions"),
    path("dashboard/api/sessions/<str:session_id>", dashboard.session_json,
         name="dashboard-session-json"),
    path("dashboard/api/sessions/<str:session_id>/traces/<str:trace_id>", dashboard.trace_json,
         name="dashboard-trace"),
    path("dashboard/api/sessions/<str:session_id>/customer", dashboard.customer_json,
         name="dashboard-customer"),
    path("dashboard/api/sessions/<str:session_id>/notes", dashboard.notes_json,
         name="dashboard-notes"),
    path("dashboard/api/saved-replies", dashboard.saved_replies_json,
         name="dashboard-saved-replies"),
    path("dashboard/profile/", dashboard.profile_page, name="dashboard-profile"),
    path("widget/v1.js", widget.widget_script, name="widget-script"),
    path("widget/demo/", widget.widget_demo_page, name="widget-demo"),
    path("openapi.json", SchemaView.as_view(), name="openapi-schema"),
    path("docs", SwaggerDocsView.as_view(), name="openapi-docs"),
    path("redoc", RedocDocsView.as_view(), name="openapi-redoc"),
    path("evaluations", EvaluationListView.as_view(), name="evaluations"),
    path("evaluations/<str:evaluation_id>", EvaluationDetailView.as_view(), name="evaluation"),
    path("auth/customer-tokens", CustomerTokenView.as_view(), name="customer-tokens"),
    path("sessions/<str:session_id>/events", session_events, name="session-events"),
    path(
        "sessions/<str:session_id>/events/<str:event_id>",
        SessionEventViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="session-event",
    ),
    path(
        "sessions/<str:session_id>/turns",
        SessionTurnViewSet.as_view({"get": "list"}),
        name="session-turns",
    ),
    path(
        "sessions",
        SessionViewSet.as_view({"get": "list", "post": "create", "delete": "delete_many"}),
        name="session-list",
    ),
    path(
        "context-variables",
        behavior_views.ContextVariableViewSet.as_view(
            {"get": "list", "post": "create", "delete": "delete_many"}
        ),
        name="context-variable-list",
    ),
    *router.urls,
]

handler400 = "parlant_site.api.bad_request"
handler404 = "parlant_site.api.not_found"
handler500 = "parlant_site.api.server_error"
