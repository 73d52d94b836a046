"""The chat page at `/`: pick an agent, start a session, talk to it."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from behavior.models import Agent


@ensure_csrf_cookie
def chat_page(request: HttpRequest) -> HttpResponse:
    agents = Agent.objects.order_by("name").only("id", "name", "description")
    return render(request, "sessions_app/chat.html", {"agents": agents})
