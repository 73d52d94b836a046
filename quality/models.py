"""Behaviour tests kept per agent, their runs, and the per-turn facts the insights page sums."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from behavior.models import Agent
from parlant_site.ids import new_id


class BehaviorTest(models.Model):
    """One test of an agent, in the suite file format's test shape (see the README)."""

    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    agent = models.ForeignKey("behavior.Agent", models.CASCADE, related_name="behavior_tests")
    name = models.CharField(max_length=200)
    definition = models.JSONField(
        default=dict,
        help_text="The conversation so far, the customer's next message and the expectations.",
    )
    source_session = models.ForeignKey(
        "sessions_app.Session",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="behavior_tests",
        help_text="The session this test was saved from, if any.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["agent", "name"]
        verbose_name = "behaviour test"
        constraints = [
            models.UniqueConstraint(fields=["agent", "name"], name="quality_test_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class TestRun(models.Model):
    """A run of an agent's tests, recorded against the behaviour version it ran on."""

    __test__ = False  # not a pytest test class, despite the name

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        FINISHED = "finished"
        FAILED = "failed", "Could not run"

    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    agent = models.ForeignKey("behavior.Agent", models.CASCADE, related_name="test_runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # The newest history revision when the run started, or the older one it was asked to run on.
    revision_id = models.IntegerField(
        null=True, blank=True, help_text="Behaviour history revision the run used."
    )
    is_older_version = models.BooleanField(default=False)
    snapshot_version = models.CharField(max_length=32, blank=True)
    total = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="test_runs"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return f"Run {self.id} of {self.agent_id} ({self.status})"

    @property
    def is_done(self) -> bool:
        return self.status in (self.Status.FINISHED, self.Status.FAILED)


class ModelPrice(models.Model):
    """What a model costs, so the insights page can show cost per conversation."""

    model = models.CharField(max_length=100, unique=True, help_text="As the provider names it.")
    prompt_per_1k = models.DecimalField(
        "prompt price per 1,000 tokens", max_digits=12, decimal_places=6, default=0
    )
    completion_per_1k = models.DecimalField(
        "completion price per 1,000 tokens", max_digits=12, decimal_places=6, default=0
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["model"]

    def __str__(self) -> str:
        return self.model


class TurnFacts(models.Model):
    """One finished turn reduced to the numbers the insights page aggregates.

    Written when the turn finishes, so the page runs GROUP BY queries over narrow indexed rows
    instead of reading every stored trace.
    """

    turn = models.OneToOneField(
        "sessions_app.Turn", models.CASCADE, primary_key=True, related_name="facts"
    )
    agent = models.ForeignKey("behavior.Agent", models.CASCADE, related_name="turn_facts")
    session = models.ForeignKey("sessions_app.Session", models.CASCADE, related_name="turn_facts")
    created_at = models.DateTimeField(default=timezone.now)
    # The day in the site's time zone, stored so grouping by day needs no date function per row.
    day = models.DateField()
    is_first_turn = models.BooleanField(
        default=False, help_text="The session's first answered message: counts a conversation."
    )
    trigger_offset = models.IntegerField()
    is_unhandled = models.BooleanField(
        default=False, help_text="No guideline and no journey applied to the customer's message."
    )
    is_handoff = models.BooleanField(default=False)
    llm_calls = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    model = models.CharField(max_length=100, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    # log(latency) in steps of 5%: percentiles come from counts per bucket (one GROUP BY)
    # instead of sorting every turn; p50/p95 are then exact to within 5%.
    latency_bucket = models.IntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "turn facts"
        # Each figure of the insights page reads one of these ranges, most from the index alone
        # (SQLite and PostgreSQL both do index-only scans), so 100,000 turns stay cheap.
        indexes = [
            models.Index(
                fields=[
                    "agent",
                    "day",
                    "model",
                    "is_first_turn",
                    "is_unhandled",
                    "llm_calls",
                    "prompt_tokens",
                    "completion_tokens",
                ],
                name="quality_facts_usage",
            ),
            models.Index(fields=["agent", "is_first_turn", "day"], name="quality_facts_first"),
            models.Index(fields=["agent", "day", "latency_bucket"], name="quality_facts_latency"),
            models.Index(
                fields=["agent", "is_unhandled", "created_at"], name="quality_facts_unhandled"
            ),
            models.Index(
                fields=["agent", "is_handoff", "day", "session"], name="quality_facts_handoff"
            ),
        ]

    def __str__(self) -> str:
        return f"Facts of turn {self.turn_id}"


class GuidelineMatch(models.Model):
    """A guideline that matched in a turn (one row per guideline and turn)."""

    turn = models.ForeignKey(TurnFacts, models.CASCADE, related_name="guideline_matches")
    agent = models.ForeignKey("behavior.Agent", models.CASCADE, related_name="+")
    guideline_id = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)
    day = models.DateField()

    class Meta:
        indexes = [
            # Covers the per-guideline count over a period: read from the index alone.
            models.Index(fields=["agent", "day", "guideline_id"], name="quality_match_agent_day"),
        ]

    def __str__(self) -> str:
        return f"{self.guideline_id} in {self.turn_id}"


class JourneyProgress(models.Model):
    """Where one session stands in one journey: started when, last step, completed or not."""

    agent = models.ForeignKey("behavior.Agent", models.CASCADE, related_name="+")
    session = models.ForeignKey("sessions_app.Session", models.CASCADE, related_name="+")
    journey_id = models.CharField(max_length=32)
    started_at = models.DateTimeField(default=timezone.now)
    last_state_id = models.CharField(max_length=32, blank=True)
    is_completed = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "journey progress"
        constraints = [
            models.UniqueConstraint(
                fields=["session", "journey_id"], name="quality_progress_unique_session_journey"
            )
        ]
        indexes = [models.Index(fields=["agent", "started_at"], name="quality_progress_agent")]

    # (JourneyProgress has one row per session and journey: far fewer rows than turns.)

    def __str__(self) -> str:
        return f"{self.journey_id} in {self.session_id}"


class AgentWorkbench(Agent):
    """An agent as the admin's quality pages see it: its tests, the test chat, insights."""

    class Meta:
        proxy = True
        verbose_name = "agent workbench"
        verbose_name_plural = "agent workbenches"
