"""What business users author: agents and the behaviour attached to them.

Scoping follows Parlant: an entity with no tags applies to every agent; the tag `agent:<agent id>`
scopes it to one agent; an agent's own tags pull in every entity carrying them; and
`journey:<journey id>` scopes a guideline to a journey. The `agent:` and `journey:` tags are real
`Tag` rows with an explicit link to their agent or journey (created on demand), so every scoped
entity has a single `tags` relation and one query answers "what applies to this agent".
"""

from django.db import models
from django.utils import timezone

from parlant_site.ids import new_id

AGENT_TAG_PREFIX = "agent:"
JOURNEY_TAG_PREFIX = "journey:"


def agent_tag_id(agent_id: str) -> str:
    return f"{AGENT_TAG_PREFIX}{agent_id}"


def journey_tag_id(journey_id: str) -> str:
    return f"{JOURNEY_TAG_PREFIX}{journey_id}"


class CompositionMode(models.TextChoices):
    FLUID = "fluid", "Fluid"
    CANNED_FLUID = "canned_fluid", "Canned, fluid fallback"
    COMPOSITED_CANNED = "composited_canned", "Composited canned"
    STRICT_CANNED = "strict_canned", "Strict canned"


class TagQuerySet(models.QuerySet):
    def plain(self) -> "TagQuerySet":
        """Tags editors create, without the agent and journey scope tags."""
        return self.filter(agent__isnull=True, journey__isnull=True)


class Tag(models.Model):
    # 64 characters: room for "journey:" or "agent:" before a 32-character id.
    id = models.CharField(primary_key=True, max_length=64, default=new_id, editable=False)
    name = models.CharField(max_length=200, unique=True)
    agent = models.OneToOneField(
        "behavior.Agent",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="scope_tag",
        editable=False,
        help_text="Set on the tag `agent:<id>` that scopes entities to this agent.",
    )
    journey = models.OneToOneField(
        "behavior.Journey",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="scope_tag",
        editable=False,
        help_text="Set on the tag `journey:<id>` that scopes guidelines to this journey.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = TagQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(agent__isnull=True) | models.Q(journey__isnull=True),
                name="behavior_tag_one_scope",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_scope_tag(self) -> bool:
        return self.agent_id is not None or self.journey_id is not None


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
    is_llm_free = models.BooleanField(
        "zero-LLM",
        default=False,
        help_text="Answer with the embedded engine only: no language-model call, deterministic, "
        "whatever provider the server uses. Pair it with strict canned composition so every "
        "reply is an approved template.",
    )
    tags = models.ManyToManyField(
        Tag,
        blank=True,
        related_name="agents",
        help_text="Everything carrying one of these tags applies to this agent too.",
    )
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


class ScopedQuerySet(models.QuerySet):
    """Filters shared by every entity scoped through tags."""

    def with_tag(self, tag_id: str) -> "ScopedQuerySet":
        return self.filter(tags__id=tag_id)

    def for_agent(self, agent_id: str, agent_tag_ids: list[str]) -> "ScopedQuerySet":
        """Rows that apply to the agent: untagged, tagged `agent:<id>`, or sharing its tags."""
        scope = [agent_tag_id(agent_id), *agent_tag_ids]
        matching = self.model.objects.filter(tags__id__in=scope).values("pk")
        return self.filter(models.Q(tags__isnull=True) | models.Q(pk__in=matching)).distinct()


class ToolService(models.Model):
    """A group of tools, as Parlant's /services lists them; ours are Python modules."""

    class Kind(models.TextChoices):
        SDK = "sdk", "Python (in process)"
        OPENAPI = "openapi", "OpenAPI"
        MCP = "mcp", "MCP"

    name = models.CharField(primary_key=True, max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SDK)
    url = models.CharField(max_length=300, blank=True, help_text="Where the tools live.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "tool service"

    def __str__(self) -> str:
        return self.name


class Tool(models.Model):
    """A mirror of one registered Python tool, so admin can list and attach it.

    The code registry is the source of truth; `tool_registry_sync` rewrites these rows at
    migrate and start-up, and marks the ones whose code is gone as unavailable.
    """

    id = models.CharField(primary_key=True, max_length=200, help_text="The registered tool name.")
    service = models.ForeignKey(ToolService, models.CASCADE, related_name="tools")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    required = models.JSONField(default=list, blank=True)
    is_consequential = models.BooleanField(default=False)
    is_available = models.BooleanField(
        default=True, help_text="False when the code no longer registers this tool."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["service", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], name="behavior_tool_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.service_id}:{self.name}"


class Guideline(models.Model):
    class Criticality(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    condition = models.TextField(help_text="When this applies, e.g. 'the customer greets you'.")
    action = models.TextField(
        blank=True, help_text="What the agent should do. Empty makes it an observation."
    )
    description = models.TextField(blank=True)
    # Messages a customer might send when the condition holds (the training phrases of Dialogflow
    # and Rasa): matching compares the conversation with them as well as with the condition.
    examples = models.JSONField(
        default=list,
        blank=True,
        help_text="Example customer messages for which the condition holds; one per line.",
    )
    criticality = models.CharField(
        max_length=8, choices=Criticality.choices, default=Criticality.MEDIUM
    )
    enabled = models.BooleanField(default=True)
    composition_mode = models.CharField(
        max_length=32,
        choices=CompositionMode.choices,
        blank=True,
        help_text="Forces a composition mode while this guideline is matched (empty: agent's).",
    )
    track = models.BooleanField(
        default=True, help_text="Remember that the action was applied, so it is not repeated."
    )
    priority = models.IntegerField(default=0)
    labels = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    tags = models.ManyToManyField(
        Tag,
        blank=True,
        related_name="guidelines",
        help_text="agent:<id> scopes to one agent, journey:<id> to a journey; none: every agent.",
    )
    tools = models.ManyToManyField(
        Tool, blank=True, related_name="guidelines", through="GuidelineToolAssociation"
    )
    # Filled when the guideline is saved (behavior/embeddings.py) by the configured NLP service,
    # once per condition text and model, so matching never embeds stored conditions per turn.
    # `embedded_condition` is the text it was made from, `embedding_model` the model.
    condition_embedding = models.JSONField(default=None, null=True, blank=True, editable=False)
    embedded_condition = models.TextField(blank=True, editable=False)
    embedding_model = models.CharField(max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        if self.action:
            return f"When {self.condition}, then {self.action}"
        return f"When {self.condition}"


class GuidelineToolAssociation(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    guideline = models.ForeignKey(Guideline, models.CASCADE, related_name="tool_associations")
    tool = models.ForeignKey(Tool, models.CASCADE, related_name="guideline_associations")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "tool attached"
        verbose_name_plural = "tools attached"
        constraints = [
            models.UniqueConstraint(
                fields=["guideline", "tool"], name="behavior_guidelinetool_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.guideline_id} → {self.tool_id}"


class Journey(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    title = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    conditions = models.ManyToManyField(
        Guideline,
        blank=True,
        related_name="triggered_journeys",
        help_text="Observations; when any of them holds, the journey starts.",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="journeys")
    composition_mode = models.CharField(max_length=32, choices=CompositionMode.choices, blank=True)
    priority = models.IntegerField(default=0)
    labels = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.title


class JourneyState(models.Model):
    class Kind(models.TextChoices):
        INITIAL = "initial", "Start"
        CHAT = "chat", "Chat (the agent says or asks something)"
        TOOL = "tool", "Tool (the agent runs tools)"
        FORK = "fork", "Fork (branches only)"
        END = "end", "End"

    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    journey = models.ForeignKey(Journey, models.CASCADE, related_name="states")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.CHAT)
    action = models.TextField(blank=True, help_text="Chat states: what the agent does here.")
    description = models.TextField(blank=True)
    tools = models.ManyToManyField(
        Tool, blank=True, related_name="journey_states", help_text="Tool states: the tools to run."
    )
    composition_mode = models.CharField(max_length=32, choices=CompositionMode.choices, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Order in lists and the diagram.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["journey", "position", "created_at", "id"]
        verbose_name = "journey state"
        constraints = [
            models.UniqueConstraint(
                fields=["journey"],
                condition=models.Q(kind="initial"),
                name="behavior_journeystate_one_initial",
            ),
            models.UniqueConstraint(
                fields=["journey"],
                condition=models.Q(kind="end"),
                name="behavior_journeystate_one_end",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["initial", "chat", "tool", "fork", "end"]),
                name="behavior_journeystate_known_kind",
            ),
        ]

    def __str__(self) -> str:
        if self.kind in (self.Kind.INITIAL, self.Kind.END, self.Kind.FORK):
            return self.get_kind_display().split(" (")[0]
        return self.action or self.description or f"{self.get_kind_display()} {self.id}"


class JourneyTransition(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    journey = models.ForeignKey(Journey, models.CASCADE, related_name="transitions")
    source = models.ForeignKey(JourneyState, models.CASCADE, related_name="outgoing")
    target = models.ForeignKey(JourneyState, models.CASCADE, related_name="incoming")
    condition = models.TextField(
        blank=True, help_text="Empty: taken as soon as the source state is done."
    )
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["journey", "created_at", "id"]
        verbose_name = "journey transition"

    def __str__(self) -> str:
        suffix = f" when {self.condition}" if self.condition else ""
        return f"{self.source_id} → {self.target_id}{suffix}"


def _exactly_one_endpoint(side: str) -> models.Q:
    """Q that holds when exactly one of the side's four endpoint foreign keys is set."""
    kinds = ("guideline", "tag", "journey", "tool")
    options = []
    for chosen in kinds:
        option = models.Q()
        for kind in kinds:
            option &= models.Q(**{f"{side}_{kind}__isnull": kind != chosen})
        options.append(option)
    either = options[0]
    for option in options[1:]:
        either |= option
    return either


class Relationship(models.Model):
    """A typed edge between guidelines, tags, journeys and tools (Parlant's relationship kinds).

    Each end is one of four explicit foreign keys; a check constraint keeps exactly one set.
    """

    class Kind(models.TextChoices):
        ENTAILMENT = "entailment", "Entailment (source active ⇒ target active)"
        PRIORITY = "priority", "Priority (both active ⇒ target dropped)"
        DEPENDENCY = "dependency", "Dependency (source needs target active)"
        DISAMBIGUATION = "disambiguation", "Disambiguation (ask which target is meant)"
        OVERLAP = "overlap", "Overlap (tools decided together)"
        REEVALUATION = "reevaluation", "Reevaluation (rematch source after target tool)"

    ENDPOINT_KINDS = ("guideline", "tag", "journey", "tool")

    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source_guideline = models.ForeignKey(
        Guideline, models.CASCADE, null=True, blank=True, related_name="outgoing_relationships"
    )
    source_tag = models.ForeignKey(
        Tag, models.CASCADE, null=True, blank=True, related_name="outgoing_relationships"
    )
    source_journey = models.ForeignKey(
        Journey, models.CASCADE, null=True, blank=True, related_name="outgoing_relationships"
    )
    source_tool = models.ForeignKey(
        Tool, models.CASCADE, null=True, blank=True, related_name="outgoing_relationships"
    )
    target_guideline = models.ForeignKey(
        Guideline, models.CASCADE, null=True, blank=True, related_name="incoming_relationships"
    )
    target_tag = models.ForeignKey(
        Tag, models.CASCADE, null=True, blank=True, related_name="incoming_relationships"
    )
    target_journey = models.ForeignKey(
        Journey, models.CASCADE, null=True, blank=True, related_name="incoming_relationships"
    )
    target_tool = models.ForeignKey(
        Tool, models.CASCADE, null=True, blank=True, related_name="incoming_relationships"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=_exactly_one_endpoint("source"),
                name="behavior_relationship_one_source",
            ),
            models.CheckConstraint(
                condition=_exactly_one_endpoint("target"),
                name="behavior_relationship_one_target",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    kind__in=[
                        "entailment",
                        "priority",
                        "dependency",
                        "disambiguation",
                        "overlap",
                        "reevaluation",
                    ]
                ),
                name="behavior_relationship_known_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint('source')} —{self.kind}→ {self.endpoint('target')}"

    def endpoint(self, side: str) -> str:
        for kind in self.ENDPOINT_KINDS:
            value = getattr(self, f"{side}_{kind}_id")
            if value is not None:
                return f"{kind}:{value}" if kind != "tag" else value
        return "?"


class GlossaryTerm(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(help_text="What the term means in this business.")
    synonyms = models.JSONField(default=list, blank=True, help_text="Other words customers use.")
    tags = models.ManyToManyField(Tag, blank=True, related_name="terms")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "glossary term"

    def __str__(self) -> str:
        return self.name


class ContextVariable(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    tool = models.ForeignKey(
        Tool,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="context_variables",
        help_text="Called to refresh the value when it is stale.",
    )
    freshness_rules = models.CharField(
        max_length=100,
        blank=True,
        help_text="Cron expression (minute hour day month weekday), e.g. '0 * * * *': the value "
        "is refreshed by the tool once per matching minute. Empty with a tool: every turn.",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="context_variables")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "context variable"

    def __str__(self) -> str:
        return self.name


class ContextVariableValue(models.Model):
    """A value for one customer, for customers with one tag (or an agent's scope tag), or default.

    Parlant addresses values by key: a customer id, `tag:<tag id>`, `agent:<agent id>` or
    `DEFAULT`. Here the key is two explicit foreign keys; both empty means the default value.
    """

    DEFAULT_KEY = "DEFAULT"
    TAG_KEY_PREFIX = "tag:"

    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    variable = models.ForeignKey(ContextVariable, models.CASCADE, related_name="values")
    customer = models.ForeignKey(
        "sessions_app.Customer",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="context_values",
    )
    tag = models.ForeignKey(
        Tag,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="context_values",
        help_text="Customers with this tag (or the agent, for an agent:<id> tag).",
    )
    data = models.JSONField(default=None, null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["variable", "created_at", "id"]
        verbose_name = "context variable value"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(customer__isnull=True) | models.Q(tag__isnull=True),
                name="behavior_variablevalue_one_key",
            ),
            models.UniqueConstraint(
                fields=["variable", "customer"],
                condition=models.Q(customer__isnull=False),
                name="behavior_variablevalue_unique_customer",
            ),
            models.UniqueConstraint(
                fields=["variable", "tag"],
                condition=models.Q(tag__isnull=False),
                name="behavior_variablevalue_unique_tag",
            ),
            models.UniqueConstraint(
                fields=["variable"],
                condition=models.Q(customer__isnull=True, tag__isnull=True),
                name="behavior_variablevalue_unique_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variable_id}[{self.key}]"

    @property
    def key(self) -> str:
        if self.customer_id:
            return self.customer_id
        if self.tag_id:
            if self.tag_id.startswith(AGENT_TAG_PREFIX):
                return self.tag_id
            return f"{self.TAG_KEY_PREFIX}{self.tag_id}"
        return self.DEFAULT_KEY


class CannedResponse(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    value = models.TextField(
        help_text="Template text; fields are written {{std.customer.name}}, {{std.agent.name}} "
        "or {{a_tool_field}}."
    )
    fields = models.JSONField(
        default=list,
        blank=True,
        help_text='Described fields: [{"name": ..., "description": ..., "examples": [...]}].',
    )
    signals = models.JSONField(
        default=list, blank=True, help_text="Other phrasings that should retrieve this response."
    )
    field_dependencies = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="canned_responses")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "canned response"

    def __str__(self) -> str:
        return self.value[:80]


class Capability(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField()
    signals = models.JSONField(default=list, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="capabilities")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["title", "id"]
        verbose_name_plural = "capabilities"

    def __str__(self) -> str:
        return self.title


class Retriever(models.Model):
    """A mirror of one registered retriever function, attachable to agents and guidelines.

    Like tools, retrievers are Python code registered at start-up; editors only choose where
    they run: for every turn of an agent, or while a guideline is matched.
    """

    id = models.CharField(primary_key=True, max_length=200, help_text="The registered name.")
    description = models.TextField(blank=True)
    module = models.CharField(max_length=300, blank=True)
    is_available = models.BooleanField(default=True)
    agents = models.ManyToManyField(Agent, blank=True, related_name="retrievers")
    guidelines = models.ManyToManyField(Guideline, blank=True, related_name="retrievers")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id
