"""What business users author: agents and the behaviour attached to them."""

from django.db import models
from django.utils import timezone

from parlant_site.ids import new_id


class CompositionMode(models.TextChoices):
    FLUID = "fluid", "Fluid"
    CANNED_FLUID = "canned_fluid", "Canned, fluid fallback"
    COMPOSITED_CANNED = "composited_canned", "Composited canned"
    STRICT_CANNED = "strict_canned", "Strict canned"


class Tag(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Agent(models.Model):
    class OutputMode(models.TextChoices):
        BLOCK = "block", "Block"
        STREAM = "stream", "Stream"

    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Who the agent is and how it speaks.")
    composition_mode = models.CharField(
        max_length=32, choices=CompositionMode.choices, default=CompositionMode.FLUID
    )
    message_output_mode = models.CharField(
        max_length=16, choices=OutputMode.choices, default=OutputMode.BLOCK
    )
    max_engine_iterations = models.PositiveSmallIntegerField(
        default=3, help_text="How many tool-and-rematch rounds a turn may take before replying."
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="agents")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_engine_iterations__gte=1),
                name="behavior_agent_iterations_positive",
            )
        ]

    def __str__(self) -> str:
        return self.name


class GuidelineQuerySet(models.QuerySet):
    def enabled(self) -> "GuidelineQuerySet":
        return self.filter(enabled=True)

    def for_agent(self, agent: Agent) -> "GuidelineQuerySet":
        """Guidelines that apply to the agent: its own, those sharing its tags, and global ones."""
        agent_tag_ids = list(agent.tags.values_list("id", flat=True))
        return self.filter(
            models.Q(agent=agent)
            | models.Q(tags__in=agent_tag_ids)
            | models.Q(agent__isnull=True, tags__isnull=True)
        ).distinct()


class Guideline(models.Model):
    class Criticality(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    agent = models.ForeignKey(
        Agent,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="guidelines",
        help_text="Leave empty to scope the guideline by tags only (no tags: every agent).",
    )
    condition = models.TextField(help_text="When this applies, e.g. 'the customer greets you'.")
    action = models.TextField(
        blank=True, help_text="What the agent should do. Empty makes it an observation."
    )
    description = models.TextField(blank=True)
    criticality = models.CharField(
        max_length=8, choices=Criticality.choices, default=Criticality.MEDIUM
    )
    enabled = models.BooleanField(default=True)
    metadata = models.JSONField(default=dict, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="guidelines")
    # Filled when the guideline is saved so matching never embeds conditions per turn.
    condition_embedding = models.JSONField(default=None, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = GuidelineQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        if self.action:
            return f"When {self.condition}, then {self.action}"
        return f"When {self.condition}"
