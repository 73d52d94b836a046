"""The official React widget (npm parlant-chat-react 1.0.11), unchanged, against our server.

The page in react_widget/ is built here from the npm registry (npm ci + esbuild); node_modules
and the bundle are not committed.
"""

import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.host_pages import serve_directory

pytestmark = pytest.mark.browser

PAGE_DIRECTORY = Path(__file__).parent / "react_widget"


@pytest.fixture(scope="module")
def react_page(product):
    npm = shutil.which("npm")
    assert npm, "the React widget page needs Node.js and npm"
    for command in ([npm, "ci", "--no-audit", "--no-fund"], [npm, "run", "build"]):
        subprocess.run(command, cwd=PAGE_DIRECTORY, check=True, timeout=300,
                       capture_output=True)
    with serve_directory(PAGE_DIRECTORY) as url:
        yield f"{url}/index.html?server={product.url}&agent=otto-carmen"


@pytest.fixture
def offline_page(page):
    # The package links a web font from a CDN; this network reaches nothing outside.
    page.route("https://**/*", lambda route: route.abort())
    return page


def test_the_react_widget_talks_to_our_server_unchanged(offline_page, react_page):
    page = offline_page
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(react_page)
    page.get_by_label("Type your message").fill("Hello!")
    page.get_by_label("Send message").click()
    log = page.get_by_role("log")
    expect(log).to_contain_text("Hello!", timeout=10_000)
    expect(log).to_contain_text("drink", timeout=30_000)
    # The agent's name comes from GET /agents/{id}.
    expect(page.get_by_text("Otto Carmen").first).to_be_visible()
    assert errors == []
