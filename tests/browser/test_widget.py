"""The embeddable widget on a plain page of another origin, in a real browser."""

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.host_pages import log_in, serve_directory, write_host_page
from tests.support.live_stack import live_stack

pytestmark = pytest.mark.browser

THEME = "#parlant-widget { --parlant-accent: rgb(10, 120, 80); }"


@pytest.fixture(scope="module")
def host_site(product, tmp_path_factory):
    directory = tmp_path_factory.mktemp("host-site")
    write_host_page(directory, "index.html", server=product.url, style=THEME)
    with serve_directory(directory) as url:
        yield url


def open_chat(page):
    bubble = page.locator("#parlant-widget .bubble")
    bubble.focus()
    page.keyboard.press("Enter")  # keyboard only: the bubble is a real button
    expect(page.locator("#parlant-widget .panel")).to_be_visible()
    expect(page.locator("#parlant-widget textarea")).to_be_focused()


def send(page, text):
    page.locator("#parlant-widget textarea").fill(text)
    page.keyboard.press("Enter")


def test_a_visitor_chats_and_the_conversation_survives_a_reload(page, host_site):
    page.goto(host_site + "/index.html")
    open_chat(page)
    send(page, "Hello!")
    expect(page.locator("#parlant-widget .message.customer .body")).to_have_text("Hello!")
    reply = page.locator("#parlant-widget .message.agent .body")
    expect(reply).to_contain_text("drink", timeout=30_000)
    session_id = page.evaluate(
        "Object.entries(localStorage).find(([k]) => k.startsWith('parlant-widget'))[1]"
    )

    page.reload()
    open_chat(page)
    expect(page.locator("#parlant-widget .message.customer .body")).to_have_text("Hello!")
    expect(page.locator("#parlant-widget .message.agent")).to_have_count(1)
    assert page.evaluate(
        "Object.entries(localStorage).find(([k]) => k.startsWith('parlant-widget'))[1]"
    ) == session_id


def test_escape_closes_the_chat_and_gives_focus_back_to_the_bubble(page, host_site):
    page.goto(host_site + "/index.html")
    open_chat(page)
    page.keyboard.press("Escape")
    expect(page.locator("#parlant-widget .panel")).to_be_hidden()
    expect(page.locator("#parlant-widget .bubble")).to_be_focused()
    expect(page.locator("#parlant-widget .bubble")).to_have_attribute("aria-expanded", "false")


def test_the_host_page_themes_it_with_css_variables(page, host_site):
    page.goto(host_site + "/index.html")
    expect(page.locator("#parlant-widget .bubble")).to_have_css(
        "background-color", "rgb(10, 120, 80)"
    )


def test_without_a_websocket_it_long_polls(page, host_site):
    page.route_web_socket("**/ws/**", lambda socket: socket.close())
    page.goto(host_site + "/index.html")
    open_chat(page)
    send(page, "Hello there")
    expect(page.locator("#parlant-widget .message.agent .body")).to_contain_text(
        "drink", timeout=30_000
    )


def test_markup_typed_into_the_widget_stays_text(page, host_site):
    payload = "<img src=x onerror=\"document.body.dataset.pwned='1'\"><b>bold</b>"
    page.goto(host_site + "/index.html")
    open_chat(page)
    send(page, payload)
    expect(page.locator("#parlant-widget .message.customer .body")).to_have_text(payload)
    expect(page.locator("#parlant-widget .message.agent")).to_have_count(1, timeout=30_000)
    assert page.locator("#parlant-widget .message img, #parlant-widget .message b").count() == 0
    assert page.evaluate("document.body.dataset.pwned") is None


# --- Production settings: strict policy, a signed customer token, CORS for one site only -------


@pytest.fixture(scope="module")
def production_like(tmp_path_factory):
    """A second stack with DEBUG off; only `allowed` may embed the widget."""
    allowed_directory = tmp_path_factory.mktemp("allowed-site")
    other_directory = tmp_path_factory.mktemp("other-site")
    with serve_directory(allowed_directory) as allowed, serve_directory(other_directory) as other:
        environment = {
            "DEBUG": "0", "SECRET_KEY": "test-" + "k" * 60, "ALLOWED_HOSTS": "127.0.0.1",
            "PARLANT_WIDGET_ORIGINS": allowed,
        }
        with live_stack(environment) as stack:
            token = stack.manage("customer_token", "dana", "--create-with-name", "Dana").strip()
            for directory in (allowed_directory, other_directory):
                write_host_page(directory, "index.html", server=stack.url,
                                extra_attributes=f'data-customer-token="{token}"')
            yield stack, allowed, other


def test_a_customer_token_lets_the_widget_chat_as_that_customer(page, production_like):
    stack, allowed, _ = production_like
    page.goto(allowed + "/index.html")
    open_chat(page)
    send(page, "Hello!")
    expect(page.locator("#parlant-widget .message.agent .body")).to_contain_text(
        "drink", timeout=30_000
    )
    admin_key = stack.manage("create_api_key", "tests", "--role", "admin").strip()
    request = urllib.request.Request(stack.url + "/sessions?customer_id=dana",
                                     headers={"Authorization": f"Bearer {admin_key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        sessions = json.loads(response.read())
    assert [session["customer_id"] for session in sessions] == ["dana"]


def test_a_site_that_is_not_allowed_cannot_use_the_api(page, production_like):
    stack, _, other = production_like
    page.goto(other + "/index.html")
    open_chat(page)
    send(page, "Hello!")
    # The browser refuses the cross-origin answer: the widget reports it and keeps the text.
    expect(page.locator("#parlant-widget .status")).to_have_class("status error")
    expect(page.locator("#parlant-widget textarea")).to_have_value("Hello!")
    expect(page.locator("#parlant-widget .message")).to_have_count(0)


def test_without_credentials_the_api_answers_401(production_like):
    stack, _, _ = production_like
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(stack.url + "/customers", timeout=10)
    assert refused.value.code == 401


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def test_on_a_phone_the_widget_opens_full_screen_with_a_16px_input(browser, host_site):
    from tests.browser.accessibility import assert_accessible

    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(host_site + "/index.html")
    page.locator("#parlant-widget .bubble").tap()
    panel = page.locator("#parlant-widget .panel")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)
    textarea = page.locator("#parlant-widget textarea")
    assert textarea.evaluate("e => getComputedStyle(e).fontSize") == "16px"
    send(page, "Hello!")
    expect(page.locator("#parlant-widget .message.agent")).to_have_count(1, timeout=30_000)
    expect(textarea).to_be_in_viewport()
    assert_accessible(page)
    page.locator("#parlant-widget .close").tap()
    expect(panel).to_be_hidden()
    expect(page.locator("#parlant-widget .bubble")).to_be_visible()
    context.close()


def test_the_launcher_becomes_a_close_button_and_counts_unread_replies(page, host_site, product,
                                                                       browser):
    page.goto(host_site + "/index.html")
    bubble = page.locator("#parlant-widget .bubble")
    open_chat(page)
    expect(bubble).to_have_attribute("aria-label", "Close chat")
    expect(bubble.locator(".icon-close")).to_be_visible()
    send(page, "Hello!")
    expect(page.locator("#parlant-widget .message.agent")).to_have_count(1, timeout=30_000)
    bubble.click()
    expect(page.locator("#parlant-widget .panel")).to_be_hidden()
    expect(bubble).to_have_attribute("aria-label", "Open chat")

    # A reply arriving while the chat is closed shows on the launcher.
    session_id = page.evaluate(
        "JSON.parse(Object.entries(localStorage)"
        ".find(([key]) => key.startsWith('parlant-widget'))[1]).sessionId"
    )
    # An operator answers on the agent's behalf, through the API like the dashboard does.
    product.manage("create_operator", "wanda", "--password", "wanda-pw-2026")
    operator = browser.new_context().new_page()
    log_in(operator, product.url, "wanda", "wanda-pw-2026")
    status = operator.evaluate(
        """async (sessionId) => {
            const csrf = document.cookie.match(/csrftoken=([^;]+)/)[1];
            const response = await fetch(`/sessions/${sessionId}/events`, {
              method: "POST",
              headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
              body: JSON.stringify({ kind: "message", message: "Still there?",
                                     source: "human_agent_on_behalf_of_ai_agent" }),
            });
            return response.status;
        }""",
        session_id,
    )
    assert status == 201
    operator.context.close()
    badge = page.locator("#parlant-widget .badge")
    expect(badge).to_have_text("1", timeout=10_000)
    expect(bubble).to_have_attribute("aria-label", "Open chat, 1 unread")
    bubble.click()
    expect(badge).to_be_hidden()
    expect(page.locator("#parlant-widget .message.agent .body").last).to_have_text("Still there?")
