"""An editor adds a guideline in admin, and the agent's next reply follows it."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def log_in_as_admin(page, product) -> None:
    output = product.manage("ensure_local_admin")
    username, password = re.search(r"Admin login: (\S+) / (\S+)", output).groups()
    page.goto(product.url + "/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()


def test_a_guideline_added_in_admin_shapes_the_next_reply(page, product):
    log_in_as_admin(page, product)
    page.goto(product.url + "/admin/behavior/guideline/add/")
    page.fill("#id_condition", "the customer asks about electric cars")
    page.fill("#id_action", "mention the new Volta EV range and offer a test drive")
    page.select_option("#id_tags_from", label="agent:otto-carmen")
    page.click("#id_tags_add")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_be_visible()

    page.goto(product.url + "/")
    page.select_option("#agent-select", label="Otto Carmen")
    page.click("#start-button")
    page.fill("#message-input", "Do you sell electric cars?")
    page.press("#message-input", "Enter")
    expect(page.locator(".message.ai_agent .body")).to_contain_text("Volta", timeout=30_000)


def test_the_journey_page_draws_the_diagram(page, product):
    log_in_as_admin(page, product)
    page.goto(product.url + "/admin/behavior/journey/")
    page.get_by_role("link", name=re.compile("test drive", re.IGNORECASE)).first.click()
    # The server draws the SVG and the page shows it as an image, so no label can run script.
    diagram = page.locator('img[src^="data:image/svg+xml"]').first
    expect(diagram).to_be_visible()
    assert diagram.evaluate("image => image.complete && image.naturalWidth") > 100
