"""POST /evaluations and GET /evaluations/{id}: Parlant's evaluation jobs, not offered here.

Parlant evaluates new guidelines for coherence and entailment in background jobs before they
are added. This server checks guidelines and journeys when they are saved (validation in the
API and admin) and offers behaviour tests (the improvement-loop feature: suites of expected
replies run against an agent) instead. The clients' `evaluations.create` / `retrieve` get a
JSON 404 that says so, rather than a bare "no such page".
"""

from rest_framework import exceptions, views

from sessions_app.permissions import Operation

UNSUPPORTED = (
    "Evaluations are not supported by this server: guidelines and journeys are checked when "
    "they are saved, and behaviour is verified with behaviour tests (`manage.py test_behavior`, "
    "or in admin) instead."
)


class EvaluationsNotSupported(exceptions.NotFound):
    default_detail = UNSUPPORTED
    default_code = "evaluations_not_supported"


class EvaluationListView(views.APIView):
    operations = {"post": Operation.CREATE_EVALUATION}

    def post(self, request):
        raise EvaluationsNotSupported()


class EvaluationDetailView(views.APIView):
    operations = {"get": Operation.READ_EVALUATION}

    def get(self, request, evaluation_id: str):
        raise EvaluationsNotSupported()
