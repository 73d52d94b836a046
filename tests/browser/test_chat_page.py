"""The customer's chat page at /, walked as a customer would: on a laptop and on a phone."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.accessibility import assert_accessible

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def say(page, text: str) -> None:
    page.fill("#message-input", text)
    page.press("#message-input", "Enter")


def open_chat(page, product) -> None:
    page.goto(product.url + "/")
    expect(page.locator("#message-input")).to_be_visible()


def test_a_greeting_gets_the_drink_offer(page, product):
    open_chat(page, product)
    # The customer's view: the agent's name, no agent picker, no way into admin.
    expect(page.locator("h1")).to_have_text("Otto Carmen")
    assert page.locator("select").count() == 0
    assert page.get_by_role("link", name="Admin").count() == 0
    assert_accessible(page)
    say(page, "Hello!")
    expect(page.locator(".message.customer .body")).to_have_text("Hello!")
    reply = page.locator(".message.ai_agent .body")
    expect(reply).to_contain_text("drink", timeout=30_000)
    expect(page.locator(".message.ai_agent .who")).to_have_text("Otto Carmen")
    expect(page.locator(".message.ai_agent .when")).to_have_text(re.compile(r"\d{1,2}:\d{2}"))
    assert_accessible(page)


def test_the_newest_message_and_the_composer_stay_on_screen(page, product):
    page.set_viewport_size({"width": 1280, "height": 800})
    open_chat(page, product)
    for turn in range(1, 8):
        say(page, f"Question number {turn}: do you sell cars?")
        expect(page.locator(".message.ai_agent")).to_have_count(turn, timeout=30_000)
    expect(page.locator(".message").last).to_be_in_viewport()
    expect(page.locator("#message-input")).to_be_in_viewport()
    # The thread scrolls inside the window, the page itself does not grow.
    assert page.evaluate("document.documentElement.scrollHeight") <= 800 + 1

    # A reload keeps the conversation.
    page.reload()
    expect(page.locator(".message.customer")).to_have_count(7)
    expect(page.locator(".message").last).to_be_in_viewport()
    page.click("#new-conversation")
    expect(page.locator(".message")).to_have_count(0)


def test_markup_in_a_message_is_shown_as_text(page, product):
    open_chat(page, product)
    payload = "<img src=x onerror=\"document.body.dataset.pwned='1'\"><script>alert(1)</script>"
    page.fill("#message-input", payload)
    page.click("#send-button")
    expect(page.locator(".message.customer .body")).to_have_text(payload)
    expect(page.locator(".message.ai_agent")).to_have_count(1, timeout=30_000)
    assert page.locator(".message img").count() == 0
    assert page.evaluate("document.body.dataset.pwned") is None


def test_a_dropped_socket_says_reconnecting_and_resumes(page, product):
    sockets = []

    def pass_through(socket):
        socket.connect_to_server()
        sockets.append(socket)

    page.route_web_socket("**/ws/sessions/**", pass_through)
    open_chat(page, product)
    say(page, "Hello!")
    expect(page.locator(".message.ai_agent")).to_have_count(1, timeout=30_000)
    sockets[-1].close()
    expect(page.locator("#connection")).to_have_text("Reconnecting…")
    expect(page.locator("#connection")).to_be_hidden(timeout=10_000)
    say(page, "Still there?")
    expect(page.locator(".message.ai_agent")).to_have_count(2, timeout=30_000)
    expect(page.locator(".message.customer")).to_have_count(2)


def test_an_unreachable_server_offers_a_retry_not_a_raw_error(page, product):
    open_chat(page, product)
    say(page, "Hello!")
    expect(page.locator(".message.ai_agent")).to_have_count(1, timeout=30_000)
    page.route("**/sessions/*/events", lambda route: route.abort("internetdisconnected"))
    say(page, "Are you open on Sunday?")
    notice = page.locator("#connection")
    expect(notice).to_contain_text("offline")
    expect(notice).not_to_contain_text("Failed to fetch")
    expect(page.locator("#message-input")).to_have_value("Are you open on Sunday?")
    page.unroute("**/sessions/*/events")
    notice.get_by_role("button", name="Retry").click()
    expect(page.locator(".message.customer .body").last).to_have_text("Are you open on Sunday?")
    expect(page.locator(".message.ai_agent")).to_have_count(2, timeout=30_000)


def test_on_a_phone_the_chat_fills_the_screen_with_a_16px_input(browser, product):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    open_chat(page, product)
    assert page.eval_on_selector("#message-input", "e => getComputedStyle(e).fontSize") == "16px"
    say(page, "Hello!")
    expect(page.locator(".message.ai_agent")).to_have_count(1, timeout=30_000)
    expect(page.locator("#message-input")).to_be_in_viewport()
    box = page.locator(".chat").bounding_box()
    assert (box["width"], box["height"]) == (390, 844)
    assert_accessible(page)
    context.close()


def test_staff_try_each_agent_on_a_page_of_their_own(page, product):
    page.goto(product.url + "/try/")
    assert_accessible(page)
    page.get_by_role("link", name="Otto Carmen").click()
    expect(page.locator("h1")).to_have_text("Otto Carmen")
    say(page, "Hi!")
    expect(page.locator(".message.ai_agent .body")).to_contain_text("drink", timeout=30_000)


@pytest.fixture(scope="module")
def strict_product():
    """The product with production settings: DEBUG off, so the strict authorization policy."""
    from tests.support.live_stack import live_stack

    environment = {"DEBUG": "0", "SECRET_KEY": "test-" + "s" * 60, "ALLOWED_HOSTS": "127.0.0.1"}
    with live_stack(environment) as stack:
        yield stack


def test_the_chat_page_works_under_the_strict_policy(page, strict_product):
    open_chat(page, strict_product)
    say(page, "Hi!")
    expect(page.locator(".message.ai_agent .body")).to_contain_text("drink", timeout=30_000)
    # The guest token is kept with the session, so a reload still reaches the conversation.
    page.reload()
    expect(page.locator(".message.ai_agent .body")).to_contain_text("drink", timeout=10_000)
