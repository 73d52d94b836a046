"""The editor's admin walked as an editor would, with axe on every page they open."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.accessibility import assert_accessible

pytestmark = pytest.mark.browser


def log_in_as_admin(page, product) -> None:
    output = product.manage("ensure_local_admin")
    username, password = re.search(r"Admin login: (\S+) / (\S+)", output).groups()
    page.goto(product.url + "/admin/login/")
    assert_accessible(page)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_have_text("Parlant · Agent behaviour")


def test_a_guideline_added_from_the_agents_page_shapes_the_next_reply(page, product):
    log_in_as_admin(page, product)
    page.goto(product.url + "/admin/behavior/agent/otto-carmen/change/")
    assert_accessible(page)
    page.get_by_role("link", name="Add a guideline for Otto Carmen").click()
    # Scoped to the agent already, and named as people know it.
    expect(page.locator("#id_tags_to option")).to_have_text(["Agent: Otto Carmen"])
    assert_accessible(page)
    page.fill("#id_condition", "the customer asks about electric cars")
    page.fill("#id_action", "mention the new Volta EV range and offer a test drive")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    expect(page.locator("#result_list")).to_contain_text("Agent: Otto Carmen")
    assert "agent:otto-carmen" not in page.locator("#result_list").inner_text()
    # Without a language model the agent says only approved text: the editor writes the words.
    page.goto(product.url + "/admin/behavior/cannedresponse/add/?tags=agent:otto-carmen")
    page.fill(
        "#id_value",
        "Yes! Our new Volta EV range has just arrived. Would you like to book a test drive?",
    )
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_be_visible()

    page.goto(product.url + "/")
    page.fill("#message-input", "Do you sell electric cars?")
    page.press("#message-input", "Enter")
    expect(page.locator(".message.ai_agent .body")).to_contain_text("Volta", timeout=30_000)


def test_an_editor_builds_a_journey_in_one_pass(page, product):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in_as_admin(page, product)
    page.goto(product.url + "/admin/behavior/journey/add/")
    assert_accessible(page)
    page.fill("#id_title", "Trade in a car")
    page.fill("#id_start_when", "the customer wants to trade in their car")
    page.fill("#id_steps", "ask which car they have and how many kilometres it has run\n"
                           "offer a valuation appointment at the dealership this week")
    page.click("input[name=_continue]")
    expect(page.locator(".field-problems")).to_contain_text("The journey is valid.")
    # Transitions name their states, the diagram is whole, the inline fits the page.
    sources = page.locator(".field-source select option:checked")
    expect(sources.first).to_have_text("Start")
    assert all("→" not in text and len(text) <= 60 for text in sources.all_inner_texts())
    diagram = page.locator('img[src^="data:image/svg+xml"]').first
    expect(diagram).to_be_visible()
    assert diagram.evaluate("image => image.complete && image.naturalWidth") > 100
    transitions = page.locator("#transitions-group")
    assert transitions.evaluate("group => group.getBoundingClientRect().right") <= 1280
    assert_accessible(page)

    # Without a start condition it can never start, and the page says so.
    page.fill("#id_start_when", "")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .warning").first).to_contain_text("can never start")
    expect(page.locator(".field-problems")).to_contain_text("can never start")


def test_a_session_reads_as_a_transcript_with_its_explanations(page, product):
    page.goto(product.url + "/")
    page.fill("#message-input", "Hello!")
    page.press("#message-input", "Enter")
    expect(page.locator(".message.ai_agent .body")).to_contain_text("drink", timeout=30_000)
    session_id = page.evaluate(
        "JSON.parse(Object.entries(localStorage)"
        ".find(([key]) => key.startsWith('parlant-chat'))[1]).sessionId"
    )
    log_in_as_admin(page, product)
    page.goto(f"{product.url}/admin/sessions_app/session/{session_id}/change/")
    transcript = page.locator(".transcript")
    expect(transcript.locator(".bubble.customer")).to_contain_text("Hello!")
    expect(transcript.locator(".bubble.agent")).to_contain_text("drink")
    expect(transcript.locator(".why")).to_contain_text("offer a refreshing drink")
    expect(page.locator("input[name=_save]")).to_have_count(0)
    assert_accessible(page)


def test_every_admin_page_has_no_serious_accessibility_problem(page, product):
    log_in_as_admin(page, product)
    assert_accessible(page)
    links = page.eval_on_selector_all(
        "#content-main a", "links => [...new Set(links.map((link) => link.href))]"
    )
    assert len(links) > 20
    for url in [*links, product.url + "/admin/behavior/agent/import/"]:
        page.goto(url)
        assert_accessible(page)
    # The first row of each list: the change pages editors spend their time on.
    for model in ("behavior/guideline", "behavior/journey", "behavior/agent",
                  "behavior/contextvariable", "sessions_app/customer"):
        page.goto(f"{product.url}/admin/{model}/")
        first = page.locator("#result_list tbody th a").first
        if first.count():
            first.click()
            assert_accessible(page)
