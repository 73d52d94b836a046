"""Operator profiles customers see, internal notes customers never see, and saved replies."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from parlant_site.ids import new_id


class OperatorProfile(models.Model):
    """How an operator appears to customers: a name and picture, never the login name."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, primary_key=True, related_name="operator_profile"
    )
    display_name = models.CharField(
        max_length=80, blank=True,
        help_text="Shown to customers when you join or reply, e.g. “Olga from Support”.",
    )
    avatar_url = models.URLField(
        blank=True, help_text="An https:// picture customers see beside your replies."
    )

    def __str__(self) -> str:
        return self.display_name or str(self.user)


class SessionNote(models.Model):
    """An operator's note on a session: for colleagues only, never part of the event stream."""

    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    session = models.ForeignKey("sessions_app.Session", models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="session_notes"
    )
    text = models.TextField(max_length=4000)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["session", "created_at", "id"]

    def __str__(self) -> str:
        return f"Note on {self.session_id} by {self.author}"


class SavedReply(models.Model):
    """A reply operators insert with one click and adjust before sending."""

    id = models.CharField(primary_key=True, max_length=32, default=new_id, editable=False)
    title = models.CharField(max_length=120, unique=True)
    text = models.TextField(max_length=4000)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "saved replies"

    def __str__(self) -> str:
        return self.title
