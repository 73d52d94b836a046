"""Customers, their sessions with agents, and each session's append-only event timeline."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from parlant_site.ids import new_id

GUEST_CUSTOMER_ID = "guest"


class Customer(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    name = models.CharField(max_length=200)
    metadata = models.JSONField(default=dict, blank=True)
    tags = models.ManyToManyField("behavior.Tag", blank=True, related_name="customers")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class Session(models.Model):
    class Mode(models.TextChoices):
        AUTO = "auto", "Agent answers"
        MANUAL = "manual", "Human answers"

    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    agent = models.ForeignKey("behavior.Agent", models.CASCADE, related_name="sessions")
    customer = models.ForeignKey(Customer, models.CASCADE, related_name="sessions")
    title = models.CharField(max_length=300, blank=True)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.AUTO)
    metadata = models.JSONField(default=dict, blank=True)
    labels = models.JSONField(default=list, blank=True)
    client_consumption_offset = models.IntegerField(default=0)
    # The next event's offset; bumped under the row lock by event_append (never count()/Max()).
    next_offset = models.PositiveIntegerField(default=0, editable=False)
    # Offset of the customer message the latest claimed turn answers; -1 before the first turn.
    claimed_offset = models.IntegerField(default=-1, editable=False)
    # The durable hand-over from a stored customer message to a turn: written in the message's
    # transaction, so a turn whose task was never queued (broker down) or was lost is still found
    # by the sweeper (sessions_app/sweeper.py) while requested_offset > claimed_offset.
    requested_offset = models.IntegerField(default=-1, editable=False)
    turn_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    agent_state = models.JSONField(default=dict, blank=True, editable=False)
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
        related_name="held_sessions",
        help_text="The operator who took the session over; empty while nobody holds it.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["agent", "customer"], name="sessions_session_agent_cust"),
            models.Index(
                fields=["turn_requested_at"],
                condition=models.Q(turn_requested_at__isnull=False),
                name="sessions_session_turn_request",
            ),
        ]
        permissions = [
            ("operate_session", "Can take over and answer sessions (the operator role)"),
        ]

    def __str__(self) -> str:
        return self.title or f"Session {self.id}"


class Event(models.Model):
    class Kind(models.TextChoices):
        MESSAGE = "message"
        TOOL = "tool"
        STATUS = "status"
        CUSTOM = "custom"

    class Source(models.TextChoices):
        CUSTOMER = "customer"
        CUSTOMER_UI = "customer_ui"
        HUMAN_AGENT = "human_agent"
        HUMAN_AGENT_ON_BEHALF_OF_AI_AGENT = "human_agent_on_behalf_of_ai_agent"
        AI_AGENT = "ai_agent"
        SYSTEM = "system"

    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    session = models.ForeignKey(Session, models.CASCADE, related_name="events")
    offset = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source = models.CharField(max_length=40, choices=Source.choices)
    trace_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["session", "offset"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "offset"], name="sessions_event_unique_offset"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["message", "tool", "status", "custom"]),
                name="sessions_event_known_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.offset} {self.kind}/{self.source}"


class Turn(models.Model):
    """One run of the engine for a session: the explanation of the reply it produced."""

    class Status(models.TextChoices):
        RUNNING = "running"
        COMPLETED = "completed"
        CANCELLED = "cancelled"
        FAILED = "failed"

    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    session = models.ForeignKey(Session, models.CASCADE, related_name="turns")
    trigger_offset = models.IntegerField(help_text="Offset of the customer message answered.")
    trace_id = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    trace = models.JSONField(default=dict, blank=True)
    # A running turn belongs to its worker only while the worker keeps renewing this lease; once
    # it lapses (the worker died), a redelivered or re-sent task takes the turn over.
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # How many workers have started this turn; a turn that keeps killing its workers is given up.
    attempts = models.PositiveSmallIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "trigger_offset"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "trigger_offset"], name="sessions_turn_unique_trigger"
            )
        ]
        indexes = [
            models.Index(
                fields=["lease_expires_at"],
                condition=models.Q(status="running"),
                name="sessions_turn_running_lease",
            )
        ]

    def __str__(self) -> str:
        return f"Turn {self.session_id}@{self.trigger_offset} ({self.status})"


API_KEY_PREFIX = "pk_"


def hash_api_key(raw_key: str) -> str:
    # The key carries 256 random bits, so a fast hash is enough: no password stretching needed,
    # and every API request pays for one hash only.
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def active(self) -> "ApiKeyQuerySet":
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A credential for an application calling the API; only its hash is stored."""

    class Role(models.TextChoices):
        APP = "app", "App (customers, sessions and events)"
        OPERATOR = "operator", "Operator (handoff and human replies)"
        EDITOR = "editor", "Editor (agents and behavior)"
        MONITORING = "monitoring", "Monitoring (metrics only)"
        ADMIN = "admin", "Admin (everything)"

    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    name = models.CharField(max_length=200, help_text="Who or what uses this key.")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.APP)
    # The first characters of the key, shown in admin so a leaked key can be recognised.
    prefix = models.CharField(max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def generate_raw_key() -> str:
        return API_KEY_PREFIX + secrets.token_urlsafe(32)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
