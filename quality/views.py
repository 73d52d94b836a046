"""The behaviour-test API: the same runner as the admin and `manage.py test_behavior`.

POST /quality/test-runs          {"agent_id", "revision_id"?}  run the agent's stored tests
GET  /quality/test-runs/{id}     progress, then results
POST /quality/suite-runs         a suite document (the file format, as JSON): run it now
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from behavior.models import Agent
from parlant_site.input_guard import INTEGER_COLUMN_MAX
from quality import services
from quality.models import TestRun
from quality.runner import run_suite
from quality.suite import SuiteError, parse_suite
from sessions_app.permissions import Operation

# A suite posted to the API runs inside the request; larger ones belong in stored tests, which
# run on a worker.
MAX_TESTS_PER_REQUEST = 50


# What the API reads and answers, for the OpenAPI document (the views validate by hand).


class TestRunStartSerializer(serializers.Serializer):
    __test__ = False
    agent_id = serializers.CharField(help_text="The agent whose stored tests run.")
    revision_id = serializers.IntegerField(
        min_value=1, max_value=INTEGER_COLUMN_MAX, required=False, allow_null=True,
        help_text="Run against this revision of the agent's behaviour (default: the current one).",
    )


class TestRunSerializer(serializers.Serializer):
    __test__ = False
    id = serializers.CharField()
    agent_id = serializers.CharField()
    status = serializers.ChoiceField(TestRun.Status.choices)
    revision_id = serializers.IntegerField(allow_null=True)
    is_older_version = serializers.BooleanField()
    snapshot_version = serializers.CharField()
    total = serializers.IntegerField(min_value=0)
    completed = serializers.IntegerField(min_value=0)
    passed = serializers.IntegerField(min_value=0)
    failed = serializers.IntegerField(min_value=0)
    errors = serializers.IntegerField(min_value=0)
    error = serializers.CharField()
    results = serializers.ListField(child=serializers.DictField(), help_text="One per test.")
    creation_utc = serializers.DateTimeField()
    finished_utc = serializers.DateTimeField(allow_null=True)


class SuiteDocumentSerializer(serializers.Serializer):
    """The behaviour-test file format, as JSON (see the quality README)."""

    name = serializers.CharField(required=False)
    agent = serializers.CharField(required=False, help_text="An existing agent's id; or:")
    behavior = serializers.DictField(
        required=False, help_text="The behaviour inline, as an export document."
    )
    customer = serializers.DictField(required=False, help_text="{name, tags, variables}")
    tests = serializers.ListField(child=serializers.DictField(), min_length=1)


class SuiteResultSerializer(serializers.Serializer):
    suite = serializers.CharField()
    snapshot_version = serializers.CharField()
    error = serializers.CharField()
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="By status.")
    tests = serializers.ListField(child=serializers.DictField(), help_text="One per test.")


def test_run_payload(run: TestRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "agent_id": run.agent_id,
        "status": run.status,
        "revision_id": run.revision_id,
        "is_older_version": run.is_older_version,
        "snapshot_version": run.snapshot_version,
        "total": run.total,
        "completed": run.completed,
        "passed": run.passed,
        "failed": run.failed,
        "errors": run.errors,
        "error": run.error,
        "results": run.results,
        "creation_utc": run.created_at,
        "finished_utc": run.finished_at,
    }


class TestRunViewSet(viewsets.ViewSet):
    __test__ = False  # not a pytest test class, despite the name
    operations = {
        "create": Operation.CREATE_EVALUATION,
        "retrieve": Operation.READ_EVALUATION,
    }

    @extend_schema(
        tags=["quality"], operation_id="create_test_run", request=TestRunStartSerializer,
        responses={202: TestRunSerializer},
    )
    def create(self, request: Request) -> Response:
        incoming = TestRunStartSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        agent_id = incoming.validated_data["agent_id"]
        revision_id = incoming.validated_data.get("revision_id")
        if not Agent.objects.filter(pk=agent_id).exists():
            raise exceptions.NotFound(f"Agent {agent_id} does not exist.")
        run = services.behavior_test_run_start(
            agent_id=agent_id, user=request.user, at_revision=revision_id
        )
        return Response(test_run_payload(run), status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        tags=["quality"], operation_id="read_test_run",
        parameters=[OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses={200: TestRunSerializer},
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        run = TestRun.objects.filter(pk=pk).first()
        if run is None:
            raise exceptions.NotFound(f"Test run {pk} does not exist.")
        return Response(test_run_payload(run))


class SuiteRunViewSet(viewsets.ViewSet):
    operations = {"create": Operation.CREATE_EVALUATION}

    @extend_schema(
        tags=["quality"], operation_id="run_suite", request=SuiteDocumentSerializer,
        parameters=[OpenApiParameter(
            "k", OpenApiTypes.STR,
            description="Only tests whose name contains this (case-insensitive); `not x` excludes.",
        )],
        responses={200: SuiteResultSerializer},
    )
    def create(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError(["Expected a suite document (a JSON object)."])
        if "behavior_file" in request.data:
            raise exceptions.ValidationError({"behavior_file": ["Send the behaviour inline."]})
        try:
            suite = parse_suite(dict(request.data), source="request")
        except SuiteError as error:
            raise exceptions.ValidationError({"suite": error.problems}) from None
        if len(suite.tests) > MAX_TESTS_PER_REQUEST:
            raise exceptions.ValidationError(
                {"tests": [f"At most {MAX_TESTS_PER_REQUEST} tests per request."]}
            )
        result = run_suite(suite, keyword=request.query_params.get("k"))
        if result.error:
            raise exceptions.ValidationError({"suite": [result.error]})
        return Response(result.as_dict())
