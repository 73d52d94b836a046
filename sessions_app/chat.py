"""The customer's chat page at `/`, and a page for staff to try each agent."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from behavior.models import Agent


def chat_agent(request: HttpRequest) -> Agent | None:
    """`?agent=` when given (links from the try-out page), else the site's agent.

    PARLANT_CHAT_AGENT_ID names the agent a deployment's customers talk to; without it the first
    agent by name serves, which is the demo's only agent.
    """
    agents = Agent.objects.only("id", "name", "description")
    wanted = request.GET.get("agent") or settings.PARLANT_CHAT_AGENT_ID
    if wanted:
        agent = agents.filter(pk=wanted).first()
        if agent is None:
            raise Http404("No such agent.")
        return agent
    return agents.order_by("name").first()


@ensure_csrf_cookie
def chat_page(request: HttpRequest) -> HttpResponse:
    return render(request, "sessions_app/chat.html", {"agent": chat_agent(request)})


def try_agents_page(request: HttpRequest) -> HttpResponse:
    agents = Agent.objects.order_by("name").only("id", "name", "description")
    return render(request, "sessions_app/try_agents.html", {"agents": agents})
