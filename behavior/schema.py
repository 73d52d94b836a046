"""OpenAPI declarations for the authoring endpoints: what each action reads and answers.

The views validate with a serializer chosen per action (`_validated(...)`) and answer with
`output_serializer`, which schema generation cannot see; these declarations say it, next to
nothing else, so the views stay as they are. Imported by `parlant_site.openapi`.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers as drf

from behavior import evaluations, serializers, views

NO_CONTENT = {204: OpenApiResponse(description="Deleted.")}


def _crud(view, *, create=None, update=None, output=None, detail=None, tag: str) -> None:
    """Declare list/retrieve/create/partial_update/destroy of one authoring ViewSet."""
    output = output or view.output_serializer
    declared = {
        "list": extend_schema(tags=[tag], responses={200: output(many=True)}),
        "retrieve": extend_schema(tags=[tag], responses={200: detail or output}),
        "destroy": extend_schema(tags=[tag], responses=NO_CONTENT),
    }
    if create is not None:
        declared["create"] = extend_schema(tags=[tag], request=create, responses={201: output})
    if update is not None:
        declared["partial_update"] = extend_schema(
            tags=[tag], request=update, responses={200: detail or output}
        )
    extend_schema_view(**declared)(view)


GuidelineWithRelationships = inline_serializer(
    "GuidelineWithRelationshipsAndToolAssociations",
    {
        "guideline": serializers.GuidelineSerializer(),
        "relationships": serializers.RelationshipSerializer(many=True),
        "tool_associations": serializers.GuidelineToolAssociationSerializer(many=True),
    },
)

ContextVariableReadResult = inline_serializer(
    "ContextVariableReadResult",
    {
        "context_variable": serializers.ContextVariableSerializer(),
        "key_value_pairs": drf.DictField(
            child=serializers.ContextVariableValueSerializer(), allow_null=True
        ),
    },
)

_crud(views.AgentViewSet, create=serializers.AgentCreateSerializer,
      update=serializers.AgentUpdateSerializer, tag="agents")
_crud(views.TagViewSet, create=serializers.TagInputSerializer,
      update=serializers.TagInputSerializer, tag="tags")
_crud(views.GuidelineViewSet, create=serializers.GuidelineCreateSerializer,
      update=serializers.GuidelineUpdateSerializer, detail=GuidelineWithRelationships,
      tag="guidelines")
_crud(views.RelationshipViewSet, create=serializers.RelationshipCreateSerializer,
      tag="relationships")
_crud(views.JourneyViewSet, create=serializers.JourneyCreateSerializer,
      update=serializers.JourneyUpdateSerializer, tag="journeys")
_crud(views.TermViewSet, create=serializers.TermCreateSerializer,
      update=serializers.TermUpdateSerializer, tag="glossary")
_crud(views.ContextVariableViewSet, create=serializers.ContextVariableCreateSerializer,
      update=serializers.ContextVariableUpdateSerializer, detail=ContextVariableReadResult,
      tag="context-variables")
_crud(views.CannedResponseViewSet, create=serializers.CannedResponseCreateSerializer,
      update=serializers.CannedResponseUpdateSerializer, tag="canned-responses")
_crud(views.CapabilityViewSet, create=serializers.CapabilityCreateSerializer,
      update=serializers.CapabilityUpdateSerializer, tag="capabilities")

extend_schema(
    tags=["context-variables"], operation_id="delete_context_variables",
    parameters=[OpenApiParameter("tag_id", OpenApiTypes.STR)], responses=NO_CONTENT,
)(views.ContextVariableViewSet.delete_many)

extend_schema_view(
    mermaid=extend_schema(
        tags=["journeys"], operation_id="journey_mermaid",
        responses={200: OpenApiResponse(OpenApiTypes.STR, description="A Mermaid diagram.")},
    ),
)(views.JourneyViewSet)

extend_schema_view(
    retrieve=extend_schema(
        tags=["context-variables"],
        parameters=[OpenApiParameter("include_values", OpenApiTypes.BOOL, default=True)],
        responses={200: ContextVariableReadResult},
    ),
)(views.ContextVariableViewSet)

for method, operation_id, request, response in (
    ("GET", "read_context_variable_value", None, serializers.ContextVariableValueSerializer),
    ("PUT", "update_context_variable_value", serializers.ContextVariableValueInputSerializer,
     serializers.ContextVariableValueSerializer),
    ("DELETE", "delete_context_variable_value", None, None),
):
    extend_schema(
        methods=[method], tags=["context-variables"], operation_id=operation_id, request=request,
        responses={200: response} if response else NO_CONTENT,
    )(views.ContextVariableViewSet.value)

extend_schema_view(
    list=extend_schema(
        tags=["services"], responses={200: serializers.ServiceSerializer(many=True)}
    ),
    retrieve=extend_schema(
        tags=["services"], responses={200: serializers.ServiceWithToolsSerializer}
    ),
    update=extend_schema(tags=["services"], request=OpenApiTypes.OBJECT,
                         responses={200: serializers.ServiceWithToolsSerializer}),
    destroy=extend_schema(tags=["services"], responses=NO_CONTENT),
)(views.ServiceViewSet)


_not_supported = OpenApiResponse(
    description="Evaluations are not supported (a JSON 404 that says so and what to use instead)."
)
extend_schema(
    tags=["evaluations"], operation_id="create_evaluation", request=OpenApiTypes.OBJECT,
    responses={404: _not_supported},
)(evaluations.EvaluationListView.post)
extend_schema(
    tags=["evaluations"], operation_id="read_evaluation", responses={404: _not_supported},
)(evaluations.EvaluationDetailView.get)
