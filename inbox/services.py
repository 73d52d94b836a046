"""Writes for the operator inbox: profiles, notes, saved replies, handoff lines for customers."""

from typing import Any

from inbox.models import OperatorProfile, SavedReply, SessionNote

# What the customer's chat shows for each change of hands (the chat words it; these are the facts).
HANDOFF_WAITING = "waiting"
HANDOFF_JOINED = "joined"
HANDOFF_RETURNED = "returned"


def operator_public_profile(user: Any) -> dict[str, str]:
    """The name and picture a customer sees for this operator; never the login name."""
    profile = OperatorProfile.objects.filter(user=user).first() if user is not None else None
    name = (profile.display_name if profile else "") or (
        user.get_full_name() if user is not None else ""
    )
    return {
        "display_name": name or "A teammate",
        "avatar_url": profile.avatar_url if profile else "",
    }


def operator_profile_update(*, user: Any, display_name: str, avatar_url: str) -> OperatorProfile:
    profile, _ = OperatorProfile.objects.update_or_create(
        user=user, defaults={"display_name": display_name.strip(), "avatar_url": avatar_url.strip()}
    )
    return profile


def note_create(*, session_id: str, author: Any, text: str) -> SessionNote:
    return SessionNote.objects.create(session_id=session_id, author=author, text=text.strip())


def saved_reply_create(*, title: str, text: str) -> SavedReply:
    return SavedReply.objects.create(title=title.strip(), text=text.strip())


def handoff_line(
    *, session_id: str, was_mode: str, was_held_by_id: Any, mode: str, operator: Any
) -> None:
    """Tell the customer, in their own timeline, who answers them now.

    A `custom` event from `system`: it survives reloads and reaches every client (chat page,
    widget, API) like any other event. Called inside the handoff's transaction.
    """
    from sessions_app.models import Event, Session
    from sessions_app.services import event_append

    data: dict[str, Any] | None = None
    if mode == Session.Mode.MANUAL and operator is None and was_mode != Session.Mode.MANUAL:
        data = {"handoff": HANDOFF_WAITING}
    elif mode == Session.Mode.MANUAL and operator is not None and was_held_by_id != operator.pk:
        data = {"handoff": HANDOFF_JOINED, "participant": operator_public_profile(operator)}
    elif mode == Session.Mode.AUTO and was_mode == Session.Mode.MANUAL:
        data = {"handoff": HANDOFF_RETURNED}
    if data is not None:
        event_append(
            session_id=session_id, kind=Event.Kind.CUSTOM, source=Event.Source.SYSTEM, data=data
        )
