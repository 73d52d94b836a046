"""The embeddable chat widget: its versioned script, and a demo host page."""

from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from behavior.models import Agent

# /widget/v1.js keeps answering with a script that speaks the v1 data-* attributes; a breaking
# change to those gets /widget/v2.js, so host pages never change under their owners' feet.
WIDGET_V1_SCRIPT = "parlant/widget.js"


@require_GET
def widget_script(request: HttpRequest) -> FileResponse:
    path = finders.find(WIDGET_V1_SCRIPT)
    if path is None:
        raise Http404("The widget script is missing from the static files.")
    response = FileResponse(open(path, "rb"), content_type="text/javascript; charset=utf-8")  # noqa: SIM115
    response["Cache-Control"] = "public, max-age=300"
    # Host pages on other origins load it with a plain <script> tag; no credentials involved.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_GET
def widget_demo_page(request: HttpRequest) -> HttpResponse:
    """A plain page with the widget on it, to try it without a site of one's own."""
    agent = Agent.objects.order_by("created_at").only("id", "name").first()
    return render(request, "widget/demo.html", {"agent": agent})
