"""The operator dashboard: live session list, session timeline, take over and hand back.

Pages are Django templates; static/parlant/dashboard.js keeps them live over the WebSocket. The
actions themselves (mode switch, human replies) go through the REST API with the operator's
login and CSRF token, so the same permissions and services apply as for any other client.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from inbox.services import operator_public_profile
from sessions_app.authentication import staff_roles
from sessions_app.explanations import explain_turn, names_for
from sessions_app.models import GUEST_CUSTOMER_ID, Session, Turn
from sessions_app.permissions import Role
from sessions_app.selectors import sessions_for_operator as _sessions_for_operator

# Enough of a message to recognise the conversation in the list; the timeline has the rest.
PREVIEW_CHARS = 140
# The list shows the most urgent sessions; older quiet ones stay reachable through admin.
LIST_LIMIT = 200
# A guest's conversation is named by its first message, cut to what fits a list row.
LABEL_CHARS = 60
LIST_VIEWS = ("waiting", "mine", "unassigned", "all")


def sessions_for_operator():
    """The operator's list, each row also carrying the customer's first message (its name)."""
    from django.db.models import OuterRef, Subquery

    from sessions_app.models import Event

    first_customer_message = Event.objects.filter(
        session=OuterRef("pk"), kind=Event.Kind.MESSAGE, source=Event.Source.CUSTOMER,
        deleted=False,
    ).order_by("offset")
    return _sessions_for_operator().annotate(
        first_customer_data=Subquery(first_customer_message.values("data")[:1])
    )


def operator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Staff with the operator role (or admins); others log in first or get a 403."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not staff_roles(request.user) & {Role.OPERATOR, Role.ADMIN}:
            return HttpResponse("Operators only.", status=403, content_type="text/plain")
        return view(request, *args, **kwargs)

    return guarded


def display_name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def message_text(data: Any) -> str:
    return str(data.get("message", "")) if isinstance(data, dict) else ""


def customer_label(session: Session) -> str:
    """What operators call the conversation: the customer's name, else what they first asked."""
    customer = session.customer
    if customer.pk != GUEST_CUSTOMER_ID and customer.name and customer.name != "Guest":
        return customer.name
    first = message_text(getattr(session, "first_customer_data", None)).strip()
    if first:
        return first if len(first) <= LABEL_CHARS else first[: LABEL_CHARS - 1] + "…"
    return session.title or "New visitor"


def session_summary(session: Session) -> dict[str, Any]:
    """One row of the live list (also the header of the session page)."""
    message = message_text(getattr(session, "last_message_data", None))
    return {
        "id": session.id,
        "title": customer_label(session),
        "session_title": session.title,
        "customer_id": session.customer_id,
        "agent": session.agent.name,
        "customer": session.customer.name,
        "mode": session.mode,
        "held_by": display_name(session.held_by),
        "held_by_id": session.held_by_id,
        "is_waiting": session.mode == Session.Mode.MANUAL
        and (
            session.held_by_id is None
            or getattr(session, "last_message_source", None) == "customer"
        ),
        "last_activity_utc": session.updated_at.isoformat(),
        "last_message": message[:PREVIEW_CHARS],
        "last_message_source": getattr(session, "last_message_source", None),
    }


@require_GET
@operator_required
@ensure_csrf_cookie
def session_list_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "sessions_app/dashboard/list.html",
        {
            "operator_name": display_name(request.user),
        },
    )


@require_GET
@operator_required
@ensure_csrf_cookie
def session_page(request: HttpRequest, session_id: str) -> HttpResponse:
    session = get_object_or_404(sessions_for_operator(), pk=session_id)
    return render(
        request,
        "sessions_app/dashboard/session.html",
        {
            "session": session,
            "summary": session_summary(session),
            "operator_name": display_name(request.user),
            "operator_id": request.user.pk,
            "public": operator_public_profile(request.user),
        },
    )


@require_GET
@operator_required
def sessions_json(request: HttpRequest) -> JsonResponse:
    """The list, in one of the views (`?view=waiting|mine|unassigned|all`), searched with `?q=`.

    `waiting_count` is the same in every view: the tab title and the Waiting tab show it.
    """
    view = request.GET.get("view", "all")
    if view not in LIST_VIEWS:
        return JsonResponse(
            {"detail": f"Unknown view {view!r}; use one of {', '.join(LIST_VIEWS)}."}, status=400
        )
    sessions = sessions_for_operator()
    waiting = sessions.filter(urgency__lte=1)
    if view == "waiting":
        sessions = waiting
    elif view == "mine":
        sessions = sessions.filter(held_by=request.user)
    elif view == "unassigned":
        sessions = sessions.filter(held_by__isnull=True)
    query = request.GET.get("q", "").strip()[:200]
    if query:
        from django.db.models import Exists, OuterRef, Q

        from sessions_app.models import Event

        said = Event.objects.filter(
            session=OuterRef("pk"), kind=Event.Kind.MESSAGE, deleted=False,
            data__message__icontains=query,
        )
        sessions = sessions.filter(
            Q(customer__name__icontains=query) | Q(title__icontains=query)
            | Q(agent__name__icontains=query) | Q(pk=query) | Exists(said)
        )
    return JsonResponse(
        {
            "view": view,
            "waiting_count": waiting.count(),
            "sessions": [session_summary(session) for session in sessions[:LIST_LIMIT]],
        }
    )


@require_GET
@operator_required
def session_json(request: HttpRequest, session_id: str) -> JsonResponse:
    session = sessions_for_operator().filter(pk=session_id).first()
    if session is None:
        return JsonResponse({"detail": f"Session {session_id} does not exist"}, status=404)
    return JsonResponse(session_summary(session))


@require_GET
@operator_required
def trace_json(request: HttpRequest, session_id: str, trace_id: str) -> JsonResponse:
    """The explanation of the agent's reply that carries this trace id."""
    turn = Turn.objects.filter(session_id=session_id, trace_id=trace_id).first()
    if turn is None:
        return JsonResponse({"detail": "No explanation recorded for this reply."}, status=404)
    return JsonResponse(
        {
            "trace_id": turn.trace_id,
            "status": turn.status,
            "trigger_offset": turn.trigger_offset,
            "explanation": explain_turn(turn.trace, names_for([turn.trace])),
            "trace": turn.trace,
        }
    )


# --- Beside the conversation: the customer, internal notes, saved replies, the operator's profile


def json_body(request: HttpRequest) -> dict[str, Any] | None:
    import json

    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def bad_request(message: str) -> JsonResponse:
    return JsonResponse({"detail": message}, status=400)


@require_GET
@operator_required
def customer_json(request: HttpRequest, session_id: str) -> JsonResponse:
    """Who the operator is talking to: name, tags, variables and their earlier sessions."""
    from behavior.models import ContextVariableValue

    session = get_object_or_404(Session.objects.select_related("customer"), pk=session_id)
    customer = session.customer
    is_guest = customer.pk == GUEST_CUSTOMER_ID
    values = (
        ContextVariableValue.objects.filter(customer=customer).select_related("variable")
        if not is_guest else []
    )
    # Every visitor without an account shares the guest customer: their sessions are strangers'.
    earlier = (
        sessions_for_operator().filter(customer=customer).exclude(pk=session.pk)[:10]
        if not is_guest else []
    )
    return JsonResponse(
        {
            "id": customer.id,
            "name": customer.name,
            "is_guest": is_guest,
            "tags": sorted(tag.name for tag in customer.tags.all()),
            "variables": [
                {"name": value.variable.name, "value": value.data} for value in values
            ],
            "metadata": customer.metadata,
            "earlier_sessions": [
                {
                    "id": other.id,
                    "title": other.title or message_text(other.first_customer_data)[:LABEL_CHARS]
                    or "(no messages)",
                    "created_utc": other.created_at.isoformat(),
                    "mode": other.mode,
                }
                for other in earlier
            ],
        }
    )


def note_summary(note: Any) -> dict[str, Any]:
    return {
        "id": note.id,
        "text": note.text,
        "author": display_name(note.author) if note.author_id else "(deleted operator)",
        "created_utc": note.created_at.isoformat(),
    }


@operator_required
def notes_json(request: HttpRequest, session_id: str) -> JsonResponse:
    """Internal notes: for operators only, stored apart from the session's events."""
    from inbox.models import SessionNote
    from inbox.services import note_create

    session = get_object_or_404(Session, pk=session_id)
    if request.method == "POST":
        body = json_body(request)
        text = str((body or {}).get("text", "")).strip()
        if not text:
            return bad_request("A note needs some text.")
        if len(text) > 4000:
            return bad_request("A note can be at most 4000 characters.")
        note = note_create(session_id=session.id, author=request.user, text=text)
        return JsonResponse(note_summary(note), status=201)
    if request.method != "GET":
        return JsonResponse({"detail": "Use GET or POST."}, status=405)
    notes = SessionNote.objects.filter(session=session).select_related("author")
    return JsonResponse({"notes": [note_summary(note) for note in notes]})


@operator_required
def saved_replies_json(request: HttpRequest) -> JsonResponse:
    from inbox.models import SavedReply
    from inbox.services import saved_reply_create

    if request.method == "POST":
        body = json_body(request) or {}
        title, text = str(body.get("title", "")).strip(), str(body.get("text", "")).strip()
        if not title or not text:
            return bad_request("A saved reply needs a title and a text.")
        if len(title) > 120 or len(text) > 4000:
            return bad_request("Titles are at most 120 characters, texts at most 4000.")
        if SavedReply.objects.filter(title=title).exists():
            return bad_request(f"A saved reply called {title!r} exists already.")
        reply = saved_reply_create(title=title, text=text)
        return JsonResponse({"id": reply.id, "title": reply.title, "text": reply.text}, status=201)
    if request.method != "GET":
        return JsonResponse({"detail": "Use GET or POST."}, status=405)
    return JsonResponse(
        {"saved_replies": list(SavedReply.objects.values("id", "title", "text"))}
    )


@operator_required
@ensure_csrf_cookie
def profile_page(request: HttpRequest) -> HttpResponse:
    """The operator's name and picture as customers see them."""
    from django import forms

    from inbox.models import OperatorProfile
    from inbox.services import operator_profile_update, operator_public_profile

    class ProfileForm(forms.ModelForm):
        class Meta:
            model = OperatorProfile
            fields = ["display_name", "avatar_url"]
            labels = {"display_name": "Name customers see", "avatar_url": "Picture (URL)"}

    profile = OperatorProfile.objects.filter(user=request.user).first()
    form = ProfileForm(request.POST or None, instance=profile)
    saved = False
    if request.method == "POST" and form.is_valid():
        operator_profile_update(
            user=request.user,
            display_name=form.cleaned_data["display_name"],
            avatar_url=form.cleaned_data["avatar_url"],
        )
        saved = True
    return render(
        request,
        "sessions_app/dashboard/profile.html",
        {
            "form": form,
            "saved": saved,
            "public": operator_public_profile(request.user),
            "operator_name": display_name(request.user),
        },
    )
