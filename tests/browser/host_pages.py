"""Plain host pages for the widget, served from another port than the product (another origin)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.live_stack import free_port

HOST_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Carmen Motors</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{style}</style></head>
<body>
  <h1>Carmen Motors</h1>
  <p>A plain page of a company's site.</p>
  <script src="{server}/widget/v1.js" data-server="{server}" data-agent-id="{agent_id}"
          {extra_attributes} async></script>
</body>
</html>
"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve `directory` over HTTP on 127.0.0.1; yields the base URL."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", free_port()), partial(_QuietHandler, directory=str(directory))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def write_host_page(directory: Path, name: str, *, server: str, agent_id: str = "otto-carmen",
                    extra_attributes: str = "", style: str = "") -> str:
    (directory / name).write_text(HOST_PAGE.format(
        server=server, agent_id=agent_id, extra_attributes=extra_attributes, style=style,
    ))
    return name


def log_in(page, product_url: str, username: str, password: str) -> None:
    page.goto(f"{product_url}/admin/login/?next=/dashboard/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{product_url}/dashboard/")
