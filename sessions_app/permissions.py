"""Who may do what. The development policy lets everything through, as Parlant's does locally."""

from channels.db import database_sync_to_async

from sessions_app.models import Session


@database_sync_to_async
def can_watch_session(scope: dict, session_id: str) -> bool:
    """A session's events may be watched by its customer or by staff; unknown sessions by nobody."""
    if not Session.objects.filter(pk=session_id).exists():
        return False
    user = scope.get("user")
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    # Development policy: the embedded default serves customers without accounts.
    return True
