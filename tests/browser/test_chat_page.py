"""The chat page at / in a real browser: pick the agent, greet it, see the reply."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def start_session(page, product) -> None:
    page.goto(product.url + "/")
    page.select_option("#agent-select", label="Otto Carmen")
    page.click("#start-button")
    expect(page.locator("#message-input")).to_be_visible()


def test_a_greeting_gets_the_drink_offer(page, product):
    start_session(page, product)
    page.fill("#message-input", "Hello!")
    page.press("#message-input", "Enter")
    expect(page.locator(".message.customer .body")).to_have_text("Hello!")
    reply = page.locator(".message.ai_agent .body")
    expect(reply).to_contain_text("drink", timeout=30_000)
    expect(page.locator(".message.ai_agent .who")).to_have_text("Otto Carmen")


def test_markup_in_a_message_is_shown_as_text(page, product):
    start_session(page, product)
    payload = "<img src=x onerror=\"document.body.dataset.pwned='1'\"><script>alert(1)</script>"
    page.fill("#message-input", payload)
    page.click("#send-button")
    expect(page.locator(".message.customer .body")).to_have_text(payload)
    expect(page.locator(".message.ai_agent")).to_have_count(1, timeout=30_000)
    assert page.locator(".message img").count() == 0
    assert page.evaluate("document.body.dataset.pwned") is None


@pytest.fixture(scope="module")
def strict_product():
    """The product with production settings: DEBUG off, so the strict authorization policy."""
    from tests.support.live_stack import live_stack

    environment = {"DEBUG": "0", "SECRET_KEY": "test-" + "s" * 60, "ALLOWED_HOSTS": "127.0.0.1"}
    with live_stack(environment) as stack:
        yield stack


def test_the_chat_page_works_under_the_strict_policy(page, strict_product):
    start_session(page, strict_product)
    page.fill("#message-input", "Hi!")
    page.press("#message-input", "Enter")
    expect(page.locator(".message.ai_agent .body")).to_contain_text("drink", timeout=30_000)
