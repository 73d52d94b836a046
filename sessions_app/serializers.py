"""Session, event and customer wire formats (Parlant's JSON shapes)."""

from django.conf import settings
from rest_framework import serializers

from behavior.models import Agent
from behavior.serializers import TagIdsField
from parlant_site.input_guard import INTEGER_COLUMN_MAX
from sessions_app.models import Customer, Event, Session


class CustomerSerializer(serializers.ModelSerializer):
    id = serializers.CharField(max_length=32, required=False)
    creation_utc = serializers.DateTimeField(source="created_at", read_only=True)
    metadata = serializers.DictField(required=False)
    tags = TagIdsField(required=False)

    class Meta:
        model = Customer
        fields = ["id", "creation_utc", "name", "metadata", "tags"]

    def validate_id(self, value: str) -> str:
        if self.instance is None and Customer.objects.filter(pk=value).exists():
            raise serializers.ValidationError(f"A customer with id {value!r} already exists.")
        if self.instance is not None and value != self.instance.id:
            raise serializers.ValidationError("A customer's id cannot change.")
        return value


class MetadataUpdateSerializer(serializers.Serializer):
    set = serializers.DictField(required=False)
    unset = serializers.ListField(child=serializers.CharField(), required=False)

    class Meta:
        ref_name = "SessionMetadataUpdate"  # the OpenAPI name; behavior has its own


class TagsUpdateSerializer(serializers.Serializer):
    add = serializers.ListField(child=serializers.CharField(max_length=32), required=False)
    remove = serializers.ListField(child=serializers.CharField(max_length=32), required=False)


class CustomerUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    metadata = MetadataUpdateSerializer(required=False)
    tags = TagsUpdateSerializer(required=False)


class ConsumptionOffsetsSerializer(serializers.Serializer):
    client = serializers.IntegerField(
        min_value=0, max_value=INTEGER_COLUMN_MAX, required=False, allow_null=True
    )


class SessionSerializer(serializers.ModelSerializer):
    agent_id = serializers.CharField()
    customer_id = serializers.CharField(required=False, allow_null=True)
    creation_utc = serializers.DateTimeField(source="created_at", read_only=True)
    title = serializers.CharField(max_length=300, required=False, allow_null=True, allow_blank=True)
    consumption_offsets = serializers.SerializerMethodField()
    metadata = serializers.DictField(required=False)
    labels = serializers.ListField(child=serializers.CharField(max_length=100), required=False)

    class Meta:
        model = Session
        fields = [
            "id", "agent_id", "customer_id", "creation_utc", "title", "mode",
            "consumption_offsets", "metadata", "labels",
        ]
        read_only_fields = ["id", "mode"]

    def get_consumption_offsets(self, session: Session) -> dict:
        return {"client": session.client_consumption_offset}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["title"] = instance.title or None
        # Server-side bookkeeping (the guest a session belongs to) stays off the wire.
        data["metadata"] = {
            key: value for key, value in data["metadata"].items() if not key.startswith("__")
        }
        return data

    def validate_agent_id(self, value: str) -> Agent:
        agent = Agent.objects.filter(pk=value).first()
        if agent is None:
            raise serializers.ValidationError(f"Agent {value!r} does not exist.")
        return agent

    def validate_customer_id(self, value: str | None) -> Customer | None:
        if value is None:
            return None
        customer = Customer.objects.filter(pk=value).first()
        if customer is None:
            raise serializers.ValidationError(f"Customer {value!r} does not exist.")
        return customer


class LabelsUpdateSerializer(serializers.Serializer):
    upsert = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    remove = serializers.ListField(child=serializers.CharField(max_length=100), required=False)


class SessionUpdateSerializer(serializers.Serializer):
    consumption_offsets = ConsumptionOffsetsSerializer(required=False)
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    mode = serializers.ChoiceField(Session.Mode.choices, required=False)
    customer_id = serializers.CharField(required=False)
    agent_id = serializers.CharField(required=False)
    metadata = MetadataUpdateSerializer(required=False)
    labels = LabelsUpdateSerializer(required=False)


class ParticipantSerializer(serializers.Serializer):
    id = serializers.CharField(required=False, allow_null=True, max_length=64)
    display_name = serializers.CharField(max_length=200)


class AgentMessageGuidelineSerializer(serializers.Serializer):
    action = serializers.CharField(max_length=2000)
    rationale = serializers.ChoiceField(
        ["unspecified", "buy_time", "follow_up"], required=False, default="unspecified"
    )


class EventCreationSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(Event.Kind.choices)
    source = serializers.ChoiceField(Event.Source.choices)
    message = serializers.CharField(required=False, allow_null=True, trim_whitespace=False)
    data = serializers.JSONField(required=False, allow_null=True)
    metadata = serializers.DictField(required=False, allow_null=True)
    participant = ParticipantSerializer(required=False, allow_null=True)
    status = serializers.ChoiceField(
        ["acknowledged", "cancelled", "processing", "ready", "typing", "error"],
        required=False, allow_null=True,
    )
    # Source ai_agent: what the agent is asked to do in this turn only ("rules" in newer Parlant).
    guidelines = AgentMessageGuidelineSerializer(many=True, required=False, allow_null=True)
    rules = AgentMessageGuidelineSerializer(many=True, required=False, allow_null=True)

    def validate_message(self, value: str | None) -> str | None:
        limit = settings.PARLANT_MAX_MESSAGE_CHARS
        if value is not None and len(value) > limit:
            raise serializers.ValidationError(
                f"The message is {len(value)} characters long; the limit is {limit}."
            )
        return value


class EventListQuerySerializer(serializers.Serializer):
    min_offset = serializers.IntegerField(
        min_value=0, max_value=INTEGER_COLUMN_MAX, required=False, default=0
    )
    source = serializers.ChoiceField(Event.Source.choices, required=False)
    correlation_id = serializers.CharField(required=False, max_length=64)
    trace_id = serializers.CharField(required=False, max_length=64)
    kinds = serializers.CharField(required=False, allow_blank=True)
    wait_for_data = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, default=60
    )
    sse = serializers.BooleanField(required=False, default=False)

    def validate_kinds(self, value: str) -> list[str]:
        kinds = [kind.strip() for kind in value.split(",") if kind.strip()]
        unknown = [kind for kind in kinds if kind not in Event.Kind.values]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown event kind(s): {', '.join(unknown)}; use {', '.join(Event.Kind.values)}."
            )
        return kinds


class SessionCreationQuerySerializer(serializers.Serializer):
    allow_greeting = serializers.BooleanField(required=False, default=False)


class ModerationQuerySerializer(serializers.Serializer):
    moderation = serializers.ChoiceField(["auto", "paranoid", "none"], required=False,
                                         default="none")


class CustomerTokenRequestSerializer(serializers.Serializer):
    customer_id = serializers.CharField(max_length=32)

    def validate_customer_id(self, value: str) -> Customer:
        customer = Customer.objects.filter(pk=value).first()
        if customer is None:
            raise serializers.ValidationError(f"Customer {value!r} does not exist.")
        return customer


class EventUpdateSerializer(serializers.Serializer):
    metadata = MetadataUpdateSerializer(required=False)
