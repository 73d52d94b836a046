"""ViewSets for authoring resources on Parlant's paths.

Each action validates with an input serializer, calls a service inside a history revision, and
answers with the output serializer. Unknown ids answer 404, invalid input 422.
"""

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from behavior import filters, selectors, serializers, services
from behavior.diagram import journey_mermaid
from behavior.history import revision
from behavior.models import (
    ContextVariable,
    ContextVariableValue,
    Journey,
)
from sessions_app.permissions import Operation


def _validated(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _present(data: dict[str, Any], *names: str) -> dict[str, Any]:
    """The given fields that the request carried (PATCH leaves absent ones unchanged)."""
    return {name: data[name] for name in names if name in data}


def _add_remove(data: dict[str, Any], name: str) -> tuple[list[str], list[str]]:
    change = data.get(name) or {}
    return list(change.get("add") or []), list(change.get("remove") or [])


def _variable_value_operation(request) -> Operation:
    return {
        "PUT": Operation.UPDATE_CONTEXT_VARIABLE_VALUE,
        "DELETE": Operation.DELETE_CONTEXT_VARIABLE_VALUE,
    }.get(request.method, Operation.READ_CONTEXT_VARIABLE_VALUE)


class AuthoringViewSet(viewsets.GenericViewSet):
    """Shared plumbing: listing through the FilterSet, 204 on delete, revisions on writes."""

    http_method_names = ["get", "post", "patch", "put", "delete"]
    output_serializer: type

    def revision(self, comment: str):
        return revision(f"API: {comment}", user=self.request.user)

    def list(self, request):
        rows = self.filter_queryset(self.get_queryset())
        return Response(self.output_serializer(rows, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(self.output_serializer(self.get_object()).data)

    def destroy(self, request, pk=None):
        row = self.get_object()
        with self.revision(f"delete {row._meta.verbose_name} {row.pk}"):
            row.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def created(self, row) -> Response:
        fresh = self.get_queryset().get(pk=row.pk)
        return Response(self.output_serializer(fresh).data, status=status.HTTP_201_CREATED)

    def updated(self, row) -> Response:
        return Response(self.output_serializer(self.get_queryset().get(pk=row.pk)).data)


class AgentViewSet(AuthoringViewSet):
    operations = {
        "list": Operation.LIST_AGENTS,
        "retrieve": Operation.READ_AGENT,
        "create": Operation.CREATE_AGENT,
        "partial_update": Operation.UPDATE_AGENT,
        "destroy": Operation.DELETE_AGENT,
    }
    output_serializer = serializers.AgentSerializer
    http_method_names = ["get", "post", "patch", "delete"]

    def get_queryset(self):
        return selectors.agents_listing()

    def create(self, request):
        data = _validated(serializers.AgentCreateSerializer, request.data)
        options = {key: value for key, value in data.items() if value is not None}
        with self.revision("create agent"):
            agent = services.agent_create(
                name=options["name"],
                agent_id=options.get("id"),
                description=options.get("description", ""),
                composition_mode=options.get("composition_mode", "fluid"),
                message_output_mode=options.get("message_output_mode", "block"),
                max_engine_iterations=options.get("max_engine_iterations", 3),
                is_llm_free=options.get("is_llm_free", False),
                tag_ids=options.get("tags", []),
            )
        return self.created(agent)

    def destroy(self, request, pk=None):
        agent = self.get_object()
        with self.revision(f"delete agent {agent.pk}"):
            services.agent_delete(agent_id=agent.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def partial_update(self, request, pk=None):
        agent = self.get_object()
        data = _validated(serializers.AgentUpdateSerializer, request.data)
        tags_add, tags_remove = _add_remove(data, "tags")
        with self.revision(f"update agent {agent.pk}"):
            services.agent_update(
                agent=agent,
                fields=_present(
                    data,
                    "name",
                    "description",
                    "composition_mode",
                    "message_output_mode",
                    "max_engine_iterations",
                    "is_llm_free",
                ),
                tags_add=tags_add,
                tags_remove=tags_remove,
            )
        return self.updated(agent)


class TagViewSet(AuthoringViewSet):
    operations = {
        "list": Operation.LIST_TAGS,
        "retrieve": Operation.READ_TAG,
        "create": Operation.CREATE_TAG,
        "partial_update": Operation.UPDATE_TAG,
        "destroy": Operation.DELETE_TAG,
    }
    output_serializer = serializers.TagSerializer
    filterset_class = filters.TagFilterSet
    http_method_names = ["get", "post", "patch", "delete"]

    def get_queryset(self):
        return selectors.tags_listing()

    def create(self, request):
        data = _validated(serializers.TagInputSerializer, request.data)
        with self.revision("create tag"):
            tag = services.tag_create(name=data["name"])
        return self.created(tag)

    def destroy(self, request, pk=None):
        tag = self.get_object()
        with self.revision(f"delete tag {tag.pk}"):
            services.tag_delete(tag_id=tag.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def partial_update(self, request, pk=None):
        tag = self.get_object()
        data = _validated(serializers.TagInputSerializer, request.data)
        with self.revision(f"rename tag {tag.pk}"):
            services.tag_rename(tag=tag, name=data["name"])
        return self.updated(tag)


class GuidelineViewSet(AuthoringViewSet):
    operations = {
        "list": Operation.LIST_GUIDELINES,
        "retrieve": Operation.READ_GUIDELINE,
        "create": Operation.CREATE_GUIDELINE,
        "partial_update": Operation.UPDATE_GUIDELINE,
        "destroy": Operation.DELETE_GUIDELINE,
    }
    output_serializer = serializers.GuidelineSerializer
    filterset_class = filters.GuidelineFilterSet
    http_method_names = ["get", "post", "patch", "delete"]

    def get_queryset(self):
        return selectors.guidelines_listing()

    def with_relationships(self, guideline) -> dict[str, Any]:
        return {
            "guideline": serializers.GuidelineSerializer(guideline).data,
            "relationships": serializers.RelationshipSerializer(
                selectors.guideline_relationships(guideline), many=True
            ).data,
            "tool_associations": serializers.GuidelineToolAssociationSerializer(
                selectors.guideline_tool_associations(guideline), many=True
            ).data,
        }

    def retrieve(self, request, pk=None):
        return Response(self.with_relationships(self.get_object()))

    def create(self, request):
        data = _validated(serializers.GuidelineCreateSerializer, request.data)
        options = {key: value for key, value in data.items() if value is not None}
        with self.revision("create guideline"):
            guideline = services.guideline_create(
                condition=options["condition"],
                action=options.get("action", ""),
                guideline_id=options.get("id"),
                description=options.get("description", ""),
                examples=options.get("examples", []),
                criticality=options.get("criticality", "medium"),
                enabled=options.get("enabled", True),
                composition_mode=options.get("composition_mode", ""),
                track=options.get("track", True),
                priority=options.get("priority", 0),
                labels=options.get("labels", []),
                metadata=options.get("metadata", {}),
                tag_ids=options.get("tags", []),
            )
        return self.created(guideline)

    def partial_update(self, request, pk=None):
        guideline = self.get_object()
        data = _validated(serializers.GuidelineUpdateSerializer, request.data)
        tags_add, tags_remove = _add_remove(data, "tags")
        tools = data.get("tool_associations") or {}
        metadata = data.get("metadata") or {}
        labels = data.get("labels") or {}
        with self.revision(f"update guideline {guideline.pk}"):
            services.guideline_update(
                guideline=guideline,
                fields=_present(
                    data,
                    "condition",
                    "action",
                    "description",
                    "examples",
                    "criticality",
                    "enabled",
                    "composition_mode",
                    "priority",
                ),
                tags_add=tags_add,
                tags_remove=tags_remove,
                tools_add=tools.get("add") or [],
                tools_remove=tools.get("remove") or [],
                metadata_set=metadata.get("set") or {},
                metadata_unset=metadata.get("unset") or [],
                labels_upsert=labels.get("upsert") or [],
                labels_remove=labels.get("remove") or [],
            )
        return Response(self.with_relationships(self.get_queryset().get(pk=guideline.pk)))


class RelationshipViewSet(AuthoringViewSet):
    operations = {
        "list": Operation.LIST_RELATIONSHIPS,
        "retrieve": Operation.READ_RELATIONSHIP,
        "create": Operation.CREATE_RELATIONSHIP,
        "destroy": Operation.DELETE_RELATIONSHIP,
    }
    output_serializer = serializers.RelationshipSerializer
    filterset_class = filters.RelationshipFilterSet
    http_method_names = ["get", "post", "delete"]

    def get_queryset(self):
        return selectors.relationships_listing()

    def create(self, request):
        data = _validated(serializers.RelationshipCreateSerializer, request.data)

        def endpoint(side: str) -> services.Endpoint:
            return services.Endpoint(
                guideline_id=data.get(f"{side}_guideline"),
                tag_id=data.get(f"{side}_tag"),
                tool_id=data.get(f"{side}_tool"),
            )

        with self.revision("create relationship"):
            relationship = services.relationship_create(
                kind=data["kind"],
                source=endpoint("source"),
                target=endpoint("target"),
                group_id=data.get("group_id", ""),
            )
        return self.created(relationship)


class JourneyViewSet(AuthoringViewSet):
    operations = {
        "list": Operation.LIST_JOURNEYS,
        "retrieve": Operation.READ_JOURNEY,
        "create": Operation.CREATE_JOURNEY,
        "partial_update": Operation.UPDATE_JOURNEY,
        "destroy": Operation.DELETE_JOURNEY,
        "mermaid": Operation.READ_JOURNEY,
    }
    output_serializer = serializers.JourneySerializer
    filterset_class = filters.JourneyFilterSet
    http_method_names = ["get", "post", "patch", "delete"]

    def get_queryset(self):
        return selectors.journeys_listing()

    def create(self, request):
        data = _validated(serializers.JourneyCreateSerializer, request.data)
        options = {key: value for key, value in data.items() if value is not None}
        with self.revision("create journey"):
            journey = services.journey_create(
                title=options["title"],
                description=options.get("description", ""),
                conditions=options.get("conditions", []),
                journey_id=options.get("id"),
                tag_ids=options.get("tags", []),
                composition_mode=options.get("composition_mode", ""),
                priority=options.get("priority", 0),
                labels=options.get("labels", []),
            )
        return self.created(journey)

    def partial_update(self, request, pk=None):
        journey = self.get_object()
        data = _validated(serializers.JourneyUpdateSerializer, request.data)
        conditions_add, conditions_remove = _add_remove(data, "conditions")
        tags_add, tags_remove = _add_remove(data, "tags")
        labels = data.get("labels") or {}
        with self.revision(f"update journey {journey.pk}"):
            services.journey_update(
                journey=journey,
                fields=_present(data, "title", "description", "composition_mode", "priority"),
                conditions_add=conditions_add,
                conditions_remove=conditions_remove,
                tags_add=tags_add,
                tags_remove=tags_remove,
                labels_upsert=labels.get("upsert") or [],
                labels_remove=labels.get("remove") or [],
            )
        return self.updated(journey)

    def destroy(self, request, pk=None):
        journey = self.get_object()
        with self.revision(f"delete journey {journey.pk}"):
            services.journey_delete(journey_id=journey.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["get"])
    def mermaid(self, request, pk=None):
        journey = get_object_or_404(Journey, pk=pk)
        return HttpResponse(journey_mermaid(journey), content_type="text/plain; charset=utf-8")


class TermViewSet(AuthoringViewSet):
    operations = {
        "list": Operation.LIST_TERMS,
        "retrieve": Operation.READ_TERM,
        "create": Operation.CREATE_TERM,
        "partial_update": Operation.UPDATE_TERM,
        "destroy": Operation.DELETE_TERM,
    }
    output_serializer = serializers.TermSerializer
    filterset_class = filters.TermFilterSet
    http_method_names = ["get", "post", "patch", "delete"]

    def get_queryset(self):
        return selectors.terms_listing()

    def create(self, request):
        data = _validated(serializers.TermCreateSerializer, request.data)
        with self.revision("create term"):
            term = services.term_create(
                name=data["name"],
                description=data["description"],
                synonyms=data.get("synonyms") or [],
                tag_ids=data.get("tags") or [],
                term_id=data.get("id"),
            )
        return self.created(term)

    def partial_update(self, request, pk=None):
        term = self.get_object()
        data = _validated(serializers.TermUpdateSerializer, request.data)
        tags_add, tags_remove = _add_remove(data, "tags")
        with self.revision(f"update term {term.pk}"):
            services.term_update(
                term=term,
                **_present(data, "name", "description", "synonyms"),
                tags_add=tags_add,
                tags_remove=tags_remove,
            )
        return self.updated(term)


class ContextVariableViewSet(AuthoringViewSet):
    operations = {
        "list": Operation.LIST_CONTEXT_VARIABLES,
        "retrieve": Operation.READ_CONTEXT_VARIABLE,
        "create": Operation.CREATE_CONTEXT_VARIABLE,
        "partial_update": Operation.UPDATE_CONTEXT_VARIABLE,
        "destroy": Operation.DELETE_CONTEXT_VARIABLE,
        "delete_many": Operation.DELETE_CONTEXT_VARIABLES,
        "value": _variable_value_operation,
    }
    output_serializer = serializers.ContextVariableSerializer
    filterset_class = filters.ContextVariableFilterSet
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.variables_listing()

    def retrieve(self, request, pk=None):
        variable = self.get_object()
        include_values = request.query_params.get("include_values", "true").lower() != "false"
        values = None
        if include_values:
            rows = variable.values.select_related("customer", "tag").order_by("created_at", "id")
            values = {row.key: serializers.ContextVariableValueSerializer(row).data for row in rows}
        return Response(
            {
                "context_variable": serializers.ContextVariableSerializer(variable).data,
                "key_value_pairs": values,
            }
        )

    def create(self, request):
        data = _validated(serializers.ContextVariableCreateSerializer, request.data)
        with self.revision("create context variable"):
            variable = services.variable_create(
                name=data["name"],
                description=data.get("description") or "",
                tool_id=data.get("tool_id"),
                freshness_rules=data.get("freshness_rules") or "",
                tag_ids=data.get("tags") or [],
            )
        return self.created(variable)

    def partial_update(self, request, pk=None):
        variable = self.get_object()
        data = _validated(serializers.ContextVariableUpdateSerializer, request.data)
        tags_add, tags_remove = _add_remove(data, "tags")
        with self.revision(f"update context variable {variable.pk}"):
            services.variable_update(
                variable=variable,
                **_present(data, "name", "description", "tool_id", "freshness_rules"),
                tags_add=tags_add,
                tags_remove=tags_remove,
            )
        return self.updated(variable)

    def delete_many(self, request):
        """DELETE /context-variables?tag_id=…: delete the variables carrying the tag (all
        variables without a tag_id, as Parlant does)."""
        variables = self.filter_queryset(self.get_queryset())
        with self.revision("delete context variables"):
            ContextVariable.objects.filter(pk__in=[v.pk for v in variables]).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["get", "put", "delete"], url_path=r"(?P<key>[^/]+)")
    def value(self, request, pk=None, key: str = ""):
        variable = self.get_object()
        value_key = services.ValueKey.parse(key)
        if request.method == "PUT":
            data = _validated(serializers.ContextVariableValueInputSerializer, request.data)
            with self.revision(f"set value {key} of variable {variable.pk}"):
                stored = services.variable_value_set(
                    variable_id=variable.pk, key=value_key, data=data["data"]
                )
            return Response(serializers.ContextVariableValueSerializer(stored).data)
        if request.method == "DELETE":
            with self.revision(f"delete value {key} of variable {variable.pk}"):
                services.variable_value_delete(variable_id=variable.pk, key=value_key)
            return Response(status=status.HTTP_204_NO_CONTENT)
        stored = ContextVariableValue.objects.filter(
            variable=variable, customer_id=value_key.customer_id, tag_id=value_key.tag_id
        ).first()
        if stored is None:
            raise NotFound(f"No value for key {key!r} of variable {variable.pk}")
        return Response(serializers.ContextVariableValueSerializer(stored).data)


class CannedResponseViewSet(AuthoringViewSet):
    operations = {
        "list": Operation.LIST_CANNED_RESPONSES,
        "retrieve": Operation.READ_CANNED_RESPONSE,
        "create": Operation.CREATE_CANNED_RESPONSE,
        "partial_update": Operation.UPDATE_CANNED_RESPONSE,
        "destroy": Operation.DELETE_CANNED_RESPONSE,
    }
    output_serializer = serializers.CannedResponseSerializer
    filterset_class = filters.CannedResponseFilterSet
    http_method_names = ["get", "post", "patch", "delete"]

    def get_queryset(self):
        return selectors.canned_responses_listing()

    def create(self, request):
        data = _validated(serializers.CannedResponseCreateSerializer, request.data)
        with self.revision("create canned response"):
            canned = services.canned_response_create(
                value=data["value"],
                fields=data.get("fields") or [],
                signals=data.get("signals") or [],
                field_dependencies=data.get("field_dependencies") or [],
                metadata=data.get("metadata") or {},
                tag_ids=data.get("tags") or [],
            )
        return self.created(canned)

    def partial_update(self, request, pk=None):
        canned = self.get_object()
        data = _validated(serializers.CannedResponseUpdateSerializer, request.data)
        tags_add, tags_remove = _add_remove(data, "tags")
        metadata = data.get("metadata") or {}
        with self.revision(f"update canned response {canned.pk}"):
            services.canned_response_update(
                canned=canned,
                **_present(data, "value", "fields", "signals"),
                metadata_set=metadata.get("set") or {},
                metadata_unset=metadata.get("unset") or [],
                tags_add=tags_add,
                tags_remove=tags_remove,
            )
        return self.updated(canned)


class CapabilityViewSet(AuthoringViewSet):
    operations = {
        "list": Operation.LIST_CAPABILITIES,
        "retrieve": Operation.READ_CAPABILITY,
        "create": Operation.CREATE_CAPABILITY,
        "partial_update": Operation.UPDATE_CAPABILITY,
        "destroy": Operation.DELETE_CAPABILITY,
    }
    output_serializer = serializers.CapabilitySerializer
    filterset_class = filters.CapabilityFilterSet
    http_method_names = ["get", "post", "patch", "delete"]

    def get_queryset(self):
        return selectors.capabilities_listing()

    def create(self, request):
        data = _validated(serializers.CapabilityCreateSerializer, request.data)
        with self.revision("create capability"):
            capability = services.capability_create(
                title=data["title"],
                description=data["description"],
                signals=data.get("signals") or [],
                tag_ids=data.get("tags") or [],
                capability_id=data.get("id"),
            )
        return self.created(capability)

    def partial_update(self, request, pk=None):
        capability = self.get_object()
        data = _validated(serializers.CapabilityUpdateSerializer, request.data)
        tags_add, tags_remove = _add_remove(data, "tags")
        with self.revision(f"update capability {capability.pk}"):
            services.capability_update(
                capability=capability,
                **_present(data, "title", "description", "signals"),
                tags_add=tags_add,
                tags_remove=tags_remove,
            )
        return self.updated(capability)


class ServiceViewSet(viewsets.GenericViewSet):
    """Tool services. Ours are Python modules registered in code, so they are read-only here:
    registering remote OpenAPI/MCP/SDK services by URL is refused with a clear 422."""

    http_method_names = ["get", "put", "delete"]
    lookup_value_regex = "[^/]+"
    operations = {
        "list": Operation.LIST_SERVICES,
        "retrieve": Operation.READ_SERVICE,
        "update": Operation.UPDATE_SERVICE,
        "destroy": Operation.DELETE_SERVICE,
    }

    def get_queryset(self):
        return selectors.services_listing()

    def list(self, request):
        return Response(serializers.ServiceSerializer(self.get_queryset(), many=True).data)

    def retrieve(self, request, pk=None):
        return Response(serializers.ServiceWithToolsSerializer(self.get_object()).data)

    def update(self, request, pk=None):
        raise ValidationError(
            "Remote tool services (OpenAPI, MCP, SDK servers by URL) are not supported: tools "
            "are Python functions registered with @tool in an installed app's tools.py, "
            "reviewed and deployed with the code (a remote API is wrapped by such a function)."
        )

    def destroy(self, request, pk=None):
        self.get_object()
        raise ValidationError(
            f"Service {pk!r} is defined in code; remove its tools.py module to remove it."
        )
