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

from sessions_app.authentication import staff_roles
from sessions_app.explanations import explain_turn, names_for
from sessions_app.models import Session, Turn
from sessions_app.permissions import Role
from sessions_app.selectors import sessions_for_operator

# Enough of a message to recognise the conversation in the list; the timeline has the rest.
PREVIEW_CHARS = 140
# The list shows the most urgent sessions; older quiet ones stay reachable through admin.
LIST_LIMIT = 200


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


def session_summary(session: Session) -> dict[str, Any]:
    """One row of the live list (also the header of the session page)."""
    data = getattr(session, "last_message_data", None) or {}
    message = str(data.get("message", "")) if isinstance(data, dict) else ""
    return {
        "id": session.id,
        "title": session.title or f"Session {session.id}",
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
    session = get_object_or_404(
        Session.objects.select_related("agent", "customer", "held_by"), pk=session_id
    )
    return render(
        request,
        "sessions_app/dashboard/session.html",
        {
            "session": session,
            "summary": session_summary(session),
            "operator_name": display_name(request.user),
            "operator_id": request.user.pk,
        },
    )


@require_GET
@operator_required
def sessions_json(request: HttpRequest) -> JsonResponse:
    sessions = sessions_for_operator()[:LIST_LIMIT]
    return JsonResponse({"sessions": [session_summary(session) for session in sessions]})


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
