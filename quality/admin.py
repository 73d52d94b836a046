"""Admin of the improvement loop: tests per agent, runs with live progress, the test chat, and
insights from real conversations. Views stay thin: services and selectors do the work."""

import json
from datetime import date
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from quality import charts, selectors, services
from quality.forms import BehaviorTestForm
from quality.models import AgentWorkbench, BehaviorTest, ModelPrice, TestRun
from quality.suite import SuiteError
from quality.versions import revision_label

ENTITY_ADMIN_URLS = {
    "guideline": "admin:behavior_guideline_change",
    "journey": "admin:behavior_journey_change",
}


@admin.register(BehaviorTest)
class BehaviorTestAdmin(admin.ModelAdmin):
    form = BehaviorTestForm
    list_display = ("name", "agent", "source_session", "created_at")
    list_filter = ("agent",)
    list_select_related = ("agent", "source_session")
    search_fields = ("name",)
    readonly_fields = ("source_session", "created_at")
    fields = ("agent", "name", "definition_text", "source_session", "created_at")

    def response_post_save_change(self, request, obj):
        return HttpResponseRedirect(
            reverse("admin:quality_agentworkbench_tests", args=[obj.agent_id])
        )

    response_post_save_add = response_post_save_change


@admin.register(TestRun)
class TestRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "agent",
        "status",
        "passed",
        "failed",
        "errors",
        "revision_id",
        "created_at",
    )
    list_filter = ("agent", "status")
    list_select_related = ("agent",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:quality_agentworkbench_run", args=[object_id]))


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = ("model", "prompt_per_1k", "completion_per_1k")
    search_fields = ("model",)


def _links(check: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {**link, "url": reverse(ENTITY_ADMIN_URLS[link["kind"]], args=[link["id"]])}
        for link in check.get("links", [])
        if link.get("kind") in ENTITY_ADMIN_URLS
    ]


def _run_status(run: TestRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "status_display": run.get_status_display(),
        "is_done": run.is_done,
        "total": run.total,
        "completed": run.completed,
        "passed": run.passed,
        "failed": run.failed,
        "errors": run.errors,
    }


@admin.register(AgentWorkbench)
class AgentWorkbenchAdmin(admin.ModelAdmin):
    """One row per agent, opening its tests, its test chat and its insights."""

    list_display = ("name", "id", "test_count", "pages")
    search_fields = ("name", "id")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(tests_total=Count("behavior_tests"))

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:quality_agentworkbench_tests", args=[object_id]))

    @admin.display(description="Tests", ordering="tests_total")
    def test_count(self, agent) -> int:
        return agent.tests_total

    @admin.display(description="Open")
    def pages(self, agent) -> str:
        return format_html(
            '<a href="{}">Tests</a> · <a href="{}">Test this agent</a> · <a href="{}">Insights</a>',
            reverse("admin:quality_agentworkbench_tests", args=[agent.pk]),
            reverse("admin:quality_agentworkbench_chat", args=[agent.pk]),
            reverse("admin:quality_agentworkbench_insights", args=[agent.pk]),
        )

    def get_urls(self):
        def view(function, name: str, route: str):
            return path(route, self.admin_site.admin_view(function), name=name)

        return [
            view(self.tests_view, "quality_agentworkbench_tests", "<str:agent_id>/tests/"),
            view(self.run_start_view, "quality_agentworkbench_run_start", "<str:agent_id>/run/"),
            view(self.run_view, "quality_agentworkbench_run", "runs/<str:run_id>/"),
            view(
                self.run_status_view,
                "quality_agentworkbench_run_status",
                "runs/<str:run_id>/status/",
            ),
            view(
                self.save_turn_view,
                "quality_agentworkbench_save_turn",
                "sessions/<str:session_id>/traces/<str:trace_id>/save-as-test/",
            ),
            view(self.chat_view, "quality_agentworkbench_chat", "<str:agent_id>/chat/"),
            view(
                self.chat_reply_view,
                "quality_agentworkbench_chat_reply",
                "<str:agent_id>/chat/reply/",
            ),
            view(
                self.chat_save_view, "quality_agentworkbench_chat_save", "<str:agent_id>/chat/save/"
            ),
            view(self.insights_view, "quality_agentworkbench_insights", "<str:agent_id>/insights/"),
            *super().get_urls(),
        ]

    # --- permissions --------------------------------------------------------------------------

    def _require(self, request: HttpRequest, permission: str) -> None:
        if not request.user.has_perm(f"quality.{permission}"):
            raise PermissionDenied

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            **extra,
        }

    # --- tests and runs -----------------------------------------------------------------------

    def tests_view(self, request: HttpRequest, agent_id: str) -> HttpResponse:
        self._require(request, "view_behaviortest")
        agent = get_object_or_404(AgentWorkbench, pk=agent_id)
        runs = list(TestRun.objects.filter(agent_id=agent_id)[:20])
        for run in runs:
            run.revision_text = revision_label(run.revision_id)
        return TemplateResponse(
            request,
            "admin/quality/tests.html",
            self._context(
                request,
                f"Behaviour tests of {agent.name}",
                agent=agent,
                tests=BehaviorTest.objects.filter(agent_id=agent_id).order_by("name"),
                runs=runs,
            ),
        )

    def run_start_view(self, request: HttpRequest, agent_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "POST"})
        self._require(request, "add_testrun")
        agent = get_object_or_404(AgentWorkbench, pk=agent_id)
        raw_revision = request.POST.get("revision", "")
        at_revision = int(raw_revision) if raw_revision.isdigit() else None
        run = services.behavior_test_run_start(
            agent_id=agent.pk, user=request.user, at_revision=at_revision
        )
        return HttpResponseRedirect(reverse("admin:quality_agentworkbench_run", args=[run.id]))

    def run_view(self, request: HttpRequest, run_id: str) -> HttpResponse:
        self._require(request, "view_testrun")
        run = get_object_or_404(TestRun.objects.select_related("agent"), pk=run_id)
        results = []
        for result in run.results:
            checks = [{**check, "links": _links(check)} for check in result.get("checks", [])]
            results.append(
                {
                    **result,
                    "failures": [c for c in checks if c["status"] == "failed"],
                    "skipped": [c for c in checks if c["status"] == "skipped"],
                    "checks": checks,
                    "explanation_json": json.dumps(result.get("explanation", {}), indent=2),
                }
            )
        results.sort(key=lambda r: ({"failed": 0, "error": 1}.get(r["status"], 2), r["name"]))
        return TemplateResponse(
            request,
            "admin/quality/run.html",
            self._context(
                request,
                f"Test run of {run.agent.name}",
                run=run,
                agent=run.agent,
                revision_text=revision_label(run.revision_id),
                results=results,
                status=_run_status(run),
            ),
        )

    def run_status_view(self, request: HttpRequest, run_id: str) -> JsonResponse:
        self._require(request, "view_testrun")
        run = TestRun.objects.filter(pk=run_id).first()
        if run is None:
            return JsonResponse({"detail": "No such run."}, status=404)
        return JsonResponse(_run_status(run))

    def save_turn_view(self, request: HttpRequest, session_id: str, trace_id: str) -> HttpResponse:
        """GET: confirm; POST: save the turn as a test and open it for the editor."""
        from sessions_app.models import Event, Turn

        self._require(request, "add_behaviortest")
        turn = get_object_or_404(
            Turn.objects.select_related("session__agent"), session_id=session_id, trace_id=trace_id
        )
        if request.method == "POST" and "save_as_test" in request.POST:
            try:
                test = services.behavior_test_from_turn(turn_id=turn.id)
            except (ValueError, SuiteError) as error:
                messages.error(request, f"This turn cannot become a test: {error}")
                return HttpResponseRedirect(
                    reverse("admin:sessions_app_session_change", args=[session_id])
                )
            messages.success(
                request, "Saved as a test with the expectations this turn met; keep or change them."
            )
            return HttpResponseRedirect(
                reverse("admin:quality_behaviortest_change", args=[test.pk])
            )
        trigger = Event.objects.filter(session_id=session_id, offset=turn.trigger_offset).first()
        return TemplateResponse(
            request,
            "admin/quality/save_turn.html",
            self._context(
                request,
                "Save this turn as a test",
                turn=turn,
                message=(trigger.data or {}).get("message", "") if trigger else "",
            ),
        )

    # --- the test chat ------------------------------------------------------------------------

    def chat_view(self, request: HttpRequest, agent_id: str) -> HttpResponse:
        self._require(request, "view_behaviortest")
        agent = get_object_or_404(AgentWorkbench, pk=agent_id)
        return TemplateResponse(
            request,
            "admin/quality/chat.html",
            self._context(request, f"Test {agent.name}", agent=agent),
        )

    def chat_reply_view(self, request: HttpRequest, agent_id: str) -> JsonResponse:
        from quality.runner import chat_turn

        self._require(request, "view_behaviortest")
        payload = _json_body(request)
        if isinstance(payload, JsonResponse):
            return payload
        message = payload.get("message")
        if not isinstance(message, str) or not message.strip():
            return JsonResponse({"detail": "message: expected a non-empty text."}, status=400)
        if not AgentWorkbench.objects.filter(pk=agent_id).exists():
            return JsonResponse({"detail": f"No agent {agent_id}."}, status=404)
        state = payload.get("state") if isinstance(payload.get("state"), dict) else None
        try:
            reply = chat_turn(
                agent_id=agent_id,
                conversation=payload.get("conversation") or [],
                message=message,
                state=state,
            )
        except ValueError as error:
            return JsonResponse({"detail": str(error)}, status=400)
        reply["links"] = [
            {
                "label": item["guideline"],
                "url": reverse(ENTITY_ADMIN_URLS["guideline"], args=[item["id"]]),
            }
            for item in reply["explanation"].get("matched_guidelines", [])
        ] + [
            {
                "label": f"journey {move['journey']}",
                "url": reverse(ENTITY_ADMIN_URLS["journey"], args=[move["journey_id"]]),
            }
            for move in reply["explanation"].get("journeys", [])
            if move.get("journey_id")
        ]
        return JsonResponse(reply)

    def chat_save_view(self, request: HttpRequest, agent_id: str) -> JsonResponse:
        self._require(request, "add_behaviortest")
        payload = _json_body(request)
        if isinstance(payload, JsonResponse):
            return payload
        message, trace = payload.get("message"), payload.get("trace")
        conversation = payload.get("conversation") or []
        if not isinstance(message, str) or not isinstance(trace, dict):
            return JsonResponse({"detail": "message and trace are required."}, status=400)
        if not isinstance(conversation, list):
            return JsonResponse({"detail": "conversation: expected a list."}, status=400)
        if not AgentWorkbench.objects.filter(pk=agent_id).exists():
            return JsonResponse({"detail": f"No agent {agent_id}."}, status=404)
        try:
            test = services.behavior_test_propose(
                agent_id=agent_id, conversation=conversation, message=message, trace=trace
            )
        except SuiteError as error:
            return JsonResponse({"detail": str(error)}, status=400)
        return JsonResponse(
            {
                "id": test.pk,
                "name": test.name,
                "url": reverse("admin:quality_behaviortest_change", args=[test.pk]),
            },
            status=201,
        )

    # --- insights -----------------------------------------------------------------------------

    def insights_view(self, request: HttpRequest, agent_id: str) -> HttpResponse:
        self._require(request, "view_behaviortest")
        agent = get_object_or_404(AgentWorkbench, pk=agent_id)
        period = selectors.default_period()
        try:
            start = date.fromisoformat(request.GET.get("start") or period.start.isoformat())
            end = date.fromisoformat(request.GET.get("end") or period.end.isoformat())
        except ValueError:
            messages.error(request, "Dates are written YYYY-MM-DD; showing the last 30 days.")
            start, end = period.start, period.end
        if end < start or (end - start).days > 366:
            messages.error(request, "Choose an end after the start, at most a year apart.")
            start, end = period.start, period.end
        insights = selectors.agent_insights(agent.pk, selectors.Period(start=start, end=end))
        graphs = {
            "per_day": charts.column_chart(
                [(day.isoformat(), total) for day, total in insights["per_day"]],
                title="Conversations per day",
            ),
            "outcome": charts.split_bar(
                [
                    ("resolved without a human", insights["resolved"], charts.BAR_COLOR),
                    ("handed off", insights["handed_off"], charts.ALT_COLOR),
                ],
                title="Resolved without a human vs handed off",
            ),
            "most_matched": charts.bar_list(
                [(row["name"], row["total"]) for row in insights["most_matched"]],
                title="Most matched guidelines",
            ),
        }
        return TemplateResponse(
            request,
            "admin/quality/insights.html",
            self._context(
                request,
                f"Insights: {agent.name}",
                agent=agent,
                insights=insights,
                graphs=graphs,
                start=start,
                end=end,
            ),
        )


def _json_body(request: HttpRequest) -> dict[str, Any] | JsonResponse:
    if request.method != "POST":
        return JsonResponse({"detail": "Use POST."}, status=405)
    try:
        payload = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"detail": "The body is not JSON."}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"detail": "Expected a JSON object."}, status=400)
    return payload
