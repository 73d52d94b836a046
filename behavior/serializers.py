"""Wire-format serializers for authoring resources (Parlant's JSON shapes).

Output serializers read rows that selectors have already prefetched; input serializers only
check shapes and types, and views hand the validated data to services.
"""

from rest_framework import serializers

from behavior.models import (
    Agent,
    CannedResponse,
    Capability,
    CompositionMode,
    ContextVariable,
    ContextVariableValue,
    GlossaryTerm,
    Guideline,
    GuidelineToolAssociation,
    Journey,
    Relationship,
    Tag,
    Tool,
    ToolService,
    journey_tag_id,
)


def _none_if_blank(value: str) -> str | None:
    return value or None


# The database column's range: a larger number is a 422 here, not an overflow in the database.
INT32 = {"min_value": -(2**31), "max_value": 2**31 - 1}

def tag_ids(row) -> list[str]:
    return [tag.id for tag in row.tags.all()]


class TagIdsField(serializers.ListField):
    """A list of tag ids; each must exist (used by sessions_app for customer tags)."""

    child = serializers.CharField(max_length=64)

    def to_internal_value(self, data):
        tag_ids = super().to_internal_value(data)
        found = set(Tag.objects.filter(pk__in=tag_ids).values_list("pk", flat=True))
        missing = [tag_id for tag_id in tag_ids if tag_id not in found]
        if missing:
            raise serializers.ValidationError(f"Unknown tag id(s): {', '.join(missing)}")
        return list(dict.fromkeys(tag_ids))

    def to_representation(self, manager):
        return [tag.id for tag in manager.all()]


class StringList(serializers.ListField):
    child = serializers.CharField(allow_blank=True, trim_whitespace=False)


class AddRemoveSerializer(serializers.Serializer):
    """Parlant's {add, remove} update of a set (tags, conditions, tool associations)."""

    add = StringList(required=False, allow_null=True)
    remove = StringList(required=False, allow_null=True)


class UpsertRemoveSerializer(serializers.Serializer):
    upsert = StringList(required=False, allow_null=True)
    remove = StringList(required=False, allow_null=True)


class MetadataUpdateSerializer(serializers.Serializer):
    set = serializers.DictField(required=False, allow_null=True)
    unset = StringList(required=False, allow_null=True)


class ToolIdSerializer(serializers.Serializer):
    service_name = serializers.CharField()
    tool_name = serializers.CharField()

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        return f"{value['service_name']}:{value['tool_name']}"


class ToolIdAddRemoveSerializer(serializers.Serializer):
    add = ToolIdSerializer(many=True, required=False)
    remove = ToolIdSerializer(many=True, required=False)


def tool_id_payload(tool: Tool) -> dict:
    return {"service_name": tool.service_id, "tool_name": tool.name}


# --- Tags and agents ---------------------------------------------------------------------------


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name"]


class TagInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class AgentSerializer(serializers.ModelSerializer):
    description = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()

    class Meta:
        model = Agent
        fields = [
            "id",
            "name",
            "description",
            "max_engine_iterations",
            "composition_mode",
            "message_output_mode",
            "tags",
            "is_llm_free",
        ]

    def get_description(self, agent: Agent) -> str | None:
        return _none_if_blank(agent.description)

    def get_tags(self, agent: Agent) -> list[str]:
        return tag_ids(agent)


class AgentCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    id = serializers.CharField(max_length=32, required=False, allow_null=True)
    description = serializers.CharField(allow_blank=True, allow_null=True, required=False)
    max_engine_iterations = serializers.IntegerField(
        min_value=1, max_value=10, required=False, allow_null=True
    )
    composition_mode = serializers.ChoiceField(
        CompositionMode.choices, required=False, allow_null=True
    )
    message_output_mode = serializers.ChoiceField(
        Agent.OutputMode.choices, required=False, allow_null=True
    )
    tags = StringList(required=False, allow_null=True)
    is_llm_free = serializers.BooleanField(required=False, allow_null=True)


class AgentUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(allow_blank=True, allow_null=True, required=False)
    max_engine_iterations = serializers.IntegerField(min_value=1, max_value=10, required=False)
    composition_mode = serializers.ChoiceField(CompositionMode.choices, required=False)
    message_output_mode = serializers.ChoiceField(Agent.OutputMode.choices, required=False)
    tags = AddRemoveSerializer(required=False)
    is_llm_free = serializers.BooleanField(required=False)


# --- Tools and services ------------------------------------------------------------------------


class ToolSerializer(serializers.ModelSerializer):
    creation_utc = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Tool
        fields = ["creation_utc", "name", "description", "parameters", "required"]


class ServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = ToolService
        fields = ["name", "kind", "url"]


class ServiceWithToolsSerializer(ServiceSerializer):
    tools = serializers.SerializerMethodField()

    class Meta(ServiceSerializer.Meta):
        fields = [*ServiceSerializer.Meta.fields, "tools"]

    def get_tools(self, service: ToolService) -> list[dict]:
        available = [tool for tool in service.tools.all() if tool.is_available]
        return ToolSerializer(available, many=True).data


# --- Guidelines and relationships --------------------------------------------------------------


class GuidelineSerializer(serializers.ModelSerializer):
    action = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()
    composition_mode = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()

    class Meta:
        model = Guideline
        fields = [
            "id",
            "condition",
            "action",
            "description",
            "examples",
            "criticality",
            "enabled",
            "tags",
            "metadata",
            "composition_mode",
            "track",
            "labels",
            "priority",
        ]

    def get_action(self, guideline: Guideline) -> str | None:
        return _none_if_blank(guideline.action)

    def get_description(self, guideline: Guideline) -> str | None:
        return _none_if_blank(guideline.description)

    def get_composition_mode(self, guideline: Guideline) -> str | None:
        return _none_if_blank(guideline.composition_mode)

    def get_tags(self, guideline: Guideline) -> list[str]:
        return tag_ids(guideline)


class GuidelineCreateSerializer(serializers.Serializer):
    condition = serializers.CharField()
    id = serializers.CharField(max_length=32, required=False, allow_null=True)
    action = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    description = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    examples = StringList(required=False, allow_null=True)
    criticality = serializers.ChoiceField(
        Guideline.Criticality.choices, required=False, allow_null=True
    )
    metadata = serializers.DictField(required=False, allow_null=True)
    enabled = serializers.BooleanField(required=False, allow_null=True)
    tags = StringList(required=False, allow_null=True)
    composition_mode = serializers.ChoiceField(
        CompositionMode.choices, required=False, allow_null=True
    )
    track = serializers.BooleanField(required=False, allow_null=True)
    labels = StringList(required=False, allow_null=True)
    priority = serializers.IntegerField(required=False, allow_null=True, **INT32)


class GuidelineUpdateSerializer(serializers.Serializer):
    condition = serializers.CharField(required=False)
    action = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    examples = StringList(required=False, allow_null=True)
    criticality = serializers.ChoiceField(Guideline.Criticality.choices, required=False)
    tool_associations = ToolIdAddRemoveSerializer(required=False)
    enabled = serializers.BooleanField(required=False)
    tags = AddRemoveSerializer(required=False)
    metadata = MetadataUpdateSerializer(required=False)
    composition_mode = serializers.ChoiceField(
        CompositionMode.choices, required=False, allow_null=True
    )
    labels = UpsertRemoveSerializer(required=False)
    priority = serializers.IntegerField(required=False, **INT32)

    def validate_action(self, value):
        if value is None:
            raise serializers.ValidationError("An action with text cannot be updated to null.")
        return value


class GuidelineToolAssociationSerializer(serializers.ModelSerializer):
    tool_id = serializers.SerializerMethodField()

    class Meta:
        model = GuidelineToolAssociation
        fields = ["id", "guideline_id", "tool_id"]

    def get_tool_id(self, association: GuidelineToolAssociation) -> dict:
        return tool_id_payload(association.tool)


def _journey_tag_payload(journey_id: str) -> dict:
    return {"id": journey_tag_id(journey_id), "name": journey_tag_id(journey_id)}


class RelationshipSerializer(serializers.ModelSerializer):
    """Journeys are ends too; on the wire they appear as their `journey:<id>` tag (Parlant)."""

    source_guideline = GuidelineSerializer()
    target_guideline = GuidelineSerializer()
    source_tag = serializers.SerializerMethodField()
    target_tag = serializers.SerializerMethodField()
    source_tool = ToolSerializer()
    target_tool = ToolSerializer()

    class Meta:
        model = Relationship
        fields = [
            "id",
            "source_guideline",
            "source_tag",
            "target_guideline",
            "target_tag",
            "source_tool",
            "target_tool",
            "kind",
            "group_id",
        ]

    def _tag(self, relationship: Relationship, side: str) -> dict | None:
        if (journey_id := getattr(relationship, f"{side}_journey_id")) is not None:
            return _journey_tag_payload(journey_id)
        tag = getattr(relationship, f"{side}_tag")
        return TagSerializer(tag).data if tag is not None else None

    def get_source_tag(self, relationship: Relationship) -> dict | None:
        return self._tag(relationship, "source")

    def get_target_tag(self, relationship: Relationship) -> dict | None:
        return self._tag(relationship, "target")


class RelationshipCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(Relationship.Kind.choices)
    source_guideline = serializers.CharField(required=False, allow_null=True)
    source_tag = serializers.CharField(required=False, allow_null=True)
    source_tool = ToolIdSerializer(required=False, allow_null=True)
    target_guideline = serializers.CharField(required=False, allow_null=True)
    target_tag = serializers.CharField(required=False, allow_null=True)
    target_tool = ToolIdSerializer(required=False, allow_null=True)
    # dependency_any only: targets of one source sharing a group are alternatives.
    group_id = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")


# --- Journeys ----------------------------------------------------------------------------------


class JourneySerializer(serializers.ModelSerializer):
    conditions = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    composition_mode = serializers.SerializerMethodField()

    class Meta:
        model = Journey
        fields = [
            "id",
            "title",
            "description",
            "conditions",
            "tags",
            "composition_mode",
            "labels",
            "priority",
        ]

    def get_conditions(self, journey: Journey) -> list[str]:
        return [guideline.id for guideline in journey.conditions.all()]

    def get_tags(self, journey: Journey) -> list[str]:
        return tag_ids(journey)

    def get_composition_mode(self, journey: Journey) -> str | None:
        return _none_if_blank(journey.composition_mode)


class JourneyCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=100)
    description = serializers.CharField(allow_blank=True)
    conditions = StringList()
    id = serializers.CharField(max_length=32, required=False, allow_null=True)
    tags = StringList(required=False, allow_null=True)
    composition_mode = serializers.ChoiceField(
        CompositionMode.choices, required=False, allow_null=True
    )
    labels = StringList(required=False, allow_null=True)
    priority = serializers.IntegerField(required=False, allow_null=True, **INT32)


class JourneyUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(allow_blank=True, required=False)
    conditions = AddRemoveSerializer(required=False)
    tags = AddRemoveSerializer(required=False)
    composition_mode = serializers.ChoiceField(
        CompositionMode.choices, required=False, allow_null=True
    )
    labels = UpsertRemoveSerializer(required=False)
    priority = serializers.IntegerField(required=False, **INT32)


# --- Glossary, variables, canned responses, capabilities ----------------------------------------


class TermSerializer(serializers.ModelSerializer):
    tags = serializers.SerializerMethodField()

    class Meta:
        model = GlossaryTerm
        fields = ["id", "name", "description", "synonyms", "tags"]

    def get_tags(self, term: GlossaryTerm) -> list[str]:
        return tag_ids(term)


class TermCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True)
    synonyms = StringList(required=False, allow_null=True)
    tags = StringList(required=False, allow_null=True)
    id = serializers.CharField(max_length=32, required=False, allow_null=True)


class TermUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(allow_blank=True, required=False)
    synonyms = StringList(required=False)
    tags = AddRemoveSerializer(required=False)


class ContextVariableSerializer(serializers.ModelSerializer):
    description = serializers.SerializerMethodField()
    tool_id = serializers.SerializerMethodField()
    freshness_rules = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()

    class Meta:
        model = ContextVariable
        fields = ["id", "name", "description", "tool_id", "freshness_rules", "tags"]

    def get_description(self, variable: ContextVariable) -> str | None:
        return _none_if_blank(variable.description)

    def get_tool_id(self, variable: ContextVariable) -> dict | None:
        return tool_id_payload(variable.tool) if variable.tool_id else None

    def get_freshness_rules(self, variable: ContextVariable) -> str | None:
        return _none_if_blank(variable.freshness_rules)

    def get_tags(self, variable: ContextVariable) -> list[str]:
        return tag_ids(variable)


class ContextVariableCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, allow_null=True, required=False)
    tool_id = ToolIdSerializer(required=False, allow_null=True)
    freshness_rules = serializers.CharField(allow_blank=True, allow_null=True, required=False)
    tags = StringList(required=False, allow_null=True)


class ContextVariableUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(allow_blank=True, allow_null=True, required=False)
    tool_id = ToolIdSerializer(required=False, allow_null=True)
    freshness_rules = serializers.CharField(allow_blank=True, allow_null=True, required=False)
    tags = AddRemoveSerializer(required=False)


class ContextVariableValueSerializer(serializers.ModelSerializer):
    last_modified = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = ContextVariableValue
        fields = ["id", "last_modified", "data"]


class ContextVariableValueInputSerializer(serializers.Serializer):
    data = serializers.JSONField(allow_null=True)


class CannedResponseFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    examples = StringList()


class CannedResponseSerializer(serializers.ModelSerializer):
    creation_utc = serializers.DateTimeField(source="created_at")
    tags = serializers.SerializerMethodField()

    class Meta:
        model = CannedResponse
        fields = [
            "id",
            "creation_utc",
            "value",
            "fields",
            "tags",
            "signals",
            "metadata",
            "field_dependencies",
        ]

    def get_tags(self, canned: CannedResponse) -> list[str]:
        return tag_ids(canned)


class CannedResponseCreateSerializer(serializers.Serializer):
    value = serializers.CharField()
    fields = CannedResponseFieldSerializer(many=True, required=False, allow_null=True)
    tags = StringList(required=False, allow_null=True)
    signals = StringList(required=False, allow_null=True)
    metadata = serializers.DictField(required=False, allow_null=True)
    field_dependencies = StringList(required=False, allow_null=True)


class CannedResponseUpdateSerializer(serializers.Serializer):
    value = serializers.CharField(required=False)
    fields = CannedResponseFieldSerializer(many=True, required=False)
    signals = StringList(required=False)
    tags = AddRemoveSerializer(required=False)
    metadata = MetadataUpdateSerializer(required=False)


class CapabilitySerializer(serializers.ModelSerializer):
    tags = serializers.SerializerMethodField()

    class Meta:
        model = Capability
        fields = ["id", "title", "description", "signals", "tags"]

    def get_tags(self, capability: Capability) -> list[str]:
        return tag_ids(capability)


class CapabilityCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True)
    signals = StringList(required=False, allow_null=True)
    tags = StringList(required=False, allow_null=True)
    id = serializers.CharField(max_length=32, required=False, allow_null=True)


class CapabilityUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(allow_blank=True, required=False)
    signals = StringList(required=False)
    tags = AddRemoveSerializer(required=False)
