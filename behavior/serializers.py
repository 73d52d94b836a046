"""Wire-format serializers for authoring resources (Parlant's JSON shapes)."""

from rest_framework import serializers

from behavior.models import Agent, CompositionMode, Tag


class TagIdsField(serializers.ListField):
    """A list of tag ids; each must exist."""

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


class AgentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(max_length=32, required=False)
    description = serializers.CharField(allow_blank=True, allow_null=True, required=False)
    max_engine_iterations = serializers.IntegerField(min_value=1, max_value=10, required=False)
    composition_mode = serializers.ChoiceField(CompositionMode.choices, required=False)
    message_output_mode = serializers.ChoiceField(Agent.OutputMode.choices, required=False)
    tags = TagIdsField(required=False)

    class Meta:
        model = Agent
        fields = [
            "id", "name", "description", "max_engine_iterations", "composition_mode",
            "message_output_mode", "tags",
        ]

    def validate_id(self, value: str) -> str:
        if self.instance is not None and value != self.instance.id:
            raise serializers.ValidationError("An agent's id cannot change.")
        if self.instance is None and Agent.objects.filter(pk=value).exists():
            raise serializers.ValidationError(f"An agent with id {value!r} already exists.")
        return value

    def validate_description(self, value: str | None) -> str:
        return value or ""

    def create(self, validated_data):
        tags = validated_data.pop("tags", [])
        agent = Agent.objects.create(**validated_data)
        agent.tags.set(tags)
        return agent

    def update(self, instance, validated_data):
        tags = validated_data.pop("tags", None)
        for field, value in validated_data.items():
            setattr(instance, field, value)
        instance.save()
        if tags is not None:
            instance.tags.set(tags)
        return instance
