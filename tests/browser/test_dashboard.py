"""Handoff end to end: a customer in the widget, an operator in the dashboard, both live."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.host_pages import log_in, serve_directory, write_host_page

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=\"document.body.dataset.pwned='1'\"><script>alert(1)</script>"


@pytest.fixture(scope="module")
def operator_login(product):
    product.manage("create_operator", "olga", "--password", "olga-pw-2026", "--first-name", "Olga")
    return "olga", "olga-pw-2026"


@pytest.fixture(scope="module")
def host_site(product, tmp_path_factory):
    directory = tmp_path_factory.mktemp("dashboard-host")
    write_host_page(directory, "index.html", server=product.url)
    with serve_directory(directory) as url:
        yield url


@pytest.fixture
def customer(browser, host_site):
    context = browser.new_context()
    page = context.new_page()
    page.goto(host_site + "/index.html")
    page.locator("#parlant-widget .bubble").click()
    yield page
    context.close()


@pytest.fixture
def operator(browser, product, operator_login):
    context = browser.new_context()
    page = context.new_page()
    log_in(page, product.url, *operator_login)
    yield page
    context.close()


def customer_says(page, text):
    page.locator("#parlant-widget textarea").fill(text)
    page.keyboard.press("Enter")


def session_row(operator, customer):
    """The operator's list row of the session the customer's widget is in."""
    session_id = customer.evaluate(
        "JSON.parse(Object.entries(localStorage)"
        ".find(([key]) => key.startsWith('parlant-widget'))[1]).sessionId"
    )
    return operator.locator(f'#session-table tbody tr[data-session-id="{session_id}"]')


def widget_messages(page, kind):
    return page.locator(f"#parlant-widget .message.{kind} .body")


def test_an_operator_takes_over_answers_live_and_hands_back(customer, operator):
    customer_says(customer, "Hello!")
    expect(widget_messages(customer, "agent").first).to_contain_text("drink", timeout=30_000)

    # The new conversation shows up in the operator's list without a reload.
    row = session_row(operator, customer)
    expect(row).to_have_count(1, timeout=10_000)
    row.get_by_role("link").click()
    timeline = operator.locator("#timeline")
    expect(timeline.locator(".message.customer .body")).to_have_text("Hello!")
    expect(timeline.locator(".message.ai_agent .body")).to_contain_text("drink")

    # The agent's explanation of its reply.
    timeline.locator(".message.ai_agent .why").click()
    expect(operator.locator("#explanation-body")).not_to_have_text("Loading…")
    expect(operator.locator("#explanation")).to_be_visible()
    expect(operator.locator("#explanation-summary")).to_contain_text(
        "When the customer greets you, then offer a refreshing drink"
    )

    operator.click("#take-over")
    expect(operator.locator("#mode")).to_have_text("Human answers")
    expect(operator.locator("#holder")).to_have_text("· held by you")

    operator.fill("#reply-input", "Olga here, I will take it from now.")
    operator.click("#send-as-me")
    human = customer.locator("#parlant-widget .message.agent", has_text="Olga here")
    expect(human.locator(".who")).to_have_text("Olga")

    customer_says(customer, "Thanks Olga, can you hold the red one?")
    expect(timeline.locator(".message.customer .body").last).to_have_text(
        "Thanks Olga, can you hold the red one?"
    )
    operator.fill("#reply-input", "Done, it is yours until Friday.")
    operator.click("#send-as-agent")
    expect(widget_messages(customer, "agent").last).to_have_text("Done, it is yours until Friday.")
    # In manual mode the agent stayed silent: only its first reply is there.
    expect(timeline.locator(".message.ai_agent")).to_have_count(1)

    operator.click("#hand-back")
    expect(operator.locator("#mode")).to_have_text("Agent answers")
    customer_says(customer, "Goodbye!")
    expect(widget_messages(customer, "agent").last).to_contain_text("Carmen Motors",
                                                                    timeout=30_000)
    expect(timeline.locator(".message.ai_agent")).to_have_count(2)


def test_a_colleague_sees_who_holds_the_session(customer, operator, browser, product,
                                                operator_login):
    product.manage("create_operator", "ben", "--password", "ben-pw-2026", "--first-name", "Ben")
    customer_says(customer, "I would like to talk to someone")
    expect(widget_messages(customer, "agent")).to_have_count(1, timeout=30_000)
    row = session_row(operator, customer)
    expect(row).to_have_count(1, timeout=10_000)
    row.get_by_role("link").click()
    operator.click("#take-over")
    expect(operator.locator("#holder")).to_have_text("· held by you")

    context = browser.new_context()
    colleague = context.new_page()
    log_in(colleague, product.url, "ben", "ben-pw-2026")
    colleague_row = session_row(colleague, customer)
    expect(colleague_row.locator(".holder")).to_have_text("Olga")
    colleague_row.get_by_role("link").click()
    expect(colleague.locator("#holder")).to_have_text("· held by Olga")
    # Olga hands back while Ben watches: his page follows without a reload.
    operator.click("#hand-back")
    expect(colleague.locator("#mode")).to_have_text("Agent answers")
    expect(colleague.locator("#holder")).to_have_text("")
    context.close()


def test_markup_from_either_side_is_shown_as_text(customer, operator):
    customer_says(customer, XSS)
    expect(widget_messages(customer, "agent")).to_have_count(1, timeout=30_000)
    row = session_row(operator, customer)
    expect(row).to_have_count(1, timeout=10_000)
    row.get_by_role("link").click()
    expect(operator.locator("#timeline .message.customer .body")).to_have_text(XSS)
    operator.fill("#reply-input", XSS)
    operator.click("#send-as-me")
    expect(customer.locator("#parlant-widget .message.agent", has_text="onerror")).to_have_count(1)
    for page in (customer, operator):
        assert page.locator(".message img, #parlant-widget .message img").count() == 0
        assert page.evaluate("document.body.dataset.pwned") is None


def test_admin_shows_a_customers_markup_as_text(page, product):
    product.manage("shell", "-c", (
        "from django.contrib.auth import get_user_model;"
        "U=get_user_model();"
        "U.objects.filter(username='root').exists() or "
        "U.objects.create_superuser('root', '', 'root-pw-2026');"
        "from sessions_app.models import Customer;"
        f"Customer.objects.get_or_create(pk='xss-customer', defaults={{'name': {XSS!r}}})"
    ))
    page.goto(f"{product.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "root-pw-2026")
    page.click("input[type=submit]")
    page.goto(f"{product.url}/admin/sessions_app/customer/xss-customer/change/")
    expect(page.locator("#id_name")).to_have_value(XSS)
    page.goto(f"{product.url}/admin/sessions_app/customer/")
    expect(page.locator("#result_list")).to_contain_text(XSS)
    assert page.locator("#result_list img").count() == 0
    assert page.evaluate("document.body.dataset.pwned") is None


def test_a_dropped_connection_resumes_from_the_last_offset_without_repeats(customer, operator):
    customer_says(customer, "Hello!")
    expect(widget_messages(customer, "agent")).to_have_count(1, timeout=30_000)
    sockets = []

    def pass_through(socket):
        socket.connect_to_server()
        sockets.append(socket)

    operator.route_web_socket("**/ws/sessions/**", pass_through)
    row = session_row(operator, customer)
    expect(row).to_have_count(1, timeout=10_000)
    row.get_by_role("link").click()
    timeline = operator.locator("#timeline")
    expect(timeline.locator(".message")).to_have_count(2)
    operator.click("#take-over")
    expect(operator.locator("#holder")).to_have_text("· held by you")

    sockets[-1].close()
    expect(operator.locator("#connection")).to_have_text("Reconnecting…")
    customer_says(customer, "Are you still there?")
    expect(operator.locator("#connection")).to_have_text("Live", timeout=10_000)
    expect(timeline.locator(".message.customer .body").last).to_have_text("Are you still there?")
    expect(timeline.locator(".message")).to_have_count(3)
    assert len(sockets) >= 2


def test_asking_for_a_human_puts_the_session_first_in_line_for_operators(customer, operator):
    customer_says(customer, "Hi!")
    expect(widget_messages(customer, "agent").first).to_contain_text("drink", timeout=30_000)
    row = session_row(operator, customer)
    expect(row).to_have_count(1, timeout=10_000)

    # The demo's handoff tool switches the session to manual; the list updates without a reload.
    customer_says(customer, "I want to talk to a human please")
    expect(widget_messages(customer, "agent").last).to_contain_text("colleague", timeout=30_000)
    expect(row).to_have_class("waiting", timeout=10_000)
    expect(row).to_contain_text("Waiting for a human")
    first_row = operator.locator("#session-table tbody tr").first
    expect(first_row).to_have_attribute("data-session-id", row.get_attribute("data-session-id"))

    # While it waits, the agent stays silent.
    customer_says(customer, "Hello? Anyone?")
    expect(customer.locator("#parlant-widget .message.customer .body").last).to_have_text(
        "Hello? Anyone?"
    )
    row.get_by_role("link").click()
    expect(operator.locator("#mode")).to_have_text("Human answers")
    expect(operator.locator("#timeline .message.customer .body").last).to_have_text(
        "Hello? Anyone?"
    )
    expect(operator.locator("#timeline .message.ai_agent")).to_have_count(2)


def test_a_session_view_left_idle_still_gets_live_events(operator, product):
    from tests.support.http import call_json

    session = call_json("POST", f"{product.url}/sessions", {"agent_id": "otto-carmen"})
    opened, closed = [], []

    def watch(socket):
        opened.append(socket.url)
        socket.on("close", lambda closed_socket: closed.append(closed_socket.url))

    operator.on("websocket", watch)
    operator.goto(f"{product.url}/dashboard/sessions/{session['id']}/")
    timeline = operator.locator("#timeline")
    expect(operator.locator("#mode")).to_have_text("Agent answers")
    expect(operator.locator("#connection")).to_have_attribute("data-state", "live")
    # Deliberately idle for longer than the channel layer's 5 s blocking read: the socket that
    # used to be closed at 5 s (and reopened by the page) must stay the same one throughout.
    operator.wait_for_timeout(20_000)
    assert closed == [], f"sockets closed while idle: {closed}"
    assert len(opened) >= 1
    call_json(
        "POST",
        f"{product.url}/sessions/{session['id']}/events",
        {"kind": "message", "source": "customer", "message": "Still there?"},
    )
    expect(timeline.locator(".message.customer .body")).to_have_text("Still there?")
    expect(timeline.locator(".message.ai_agent")).to_have_count(1, timeout=30_000)


def session_id_of(customer):
    return customer.evaluate(
        "JSON.parse(Object.entries(localStorage)"
        ".find(([key]) => key.startsWith('parlant-widget'))[1]).sessionId"
    )


def test_the_customer_sees_the_handoff_and_typing_goes_both_ways(customer, operator):
    from tests.browser.accessibility import assert_accessible

    operator.set_viewport_size({"width": 1280, "height": 800})
    customer_says(customer, "Hi!")
    expect(widget_messages(customer, "agent")).to_have_count(1, timeout=30_000)
    customer_says(customer, "I want to talk to a human please")
    lines = customer.locator("#parlant-widget .system-line")
    expect(lines).to_have_text(["Waiting for a teammate…"], timeout=30_000)

    # The inbox counts the waiting conversation in the tab title and names it by its first words.
    row = session_row(operator, customer)
    expect(row.locator(".title a")).to_have_text("Hi!", timeout=10_000)
    expect(operator).to_have_title(re.compile(r"^\(\d+\) "))
    assert_accessible(operator)
    row.get_by_role("link").click()
    operator.click("#take-over")
    expect(lines).to_have_text(["Waiting for a teammate…", "Olga joined"], timeout=10_000)
    expect(operator.locator("#timeline .system-line").last).to_have_text("Olga joined")

    operator.locator("#reply-input").press_sequentially("Let me check")
    expect(customer.locator("#parlant-widget .typing")).to_have_attribute(
        "aria-label", "Olga is typing", timeout=5_000)
    customer.locator("#parlant-widget textarea").press_sequentially("thanks")
    expect(operator.locator(".agent-status")).to_have_text("Customer is typing…", timeout=5_000)

    # Everything an operator needs is on screen at 1280x800, however long the conversation.
    for button in ("#send-as-me", "#send-as-agent", "#reply-input", "#take-over", "#hand-back"):
        expect(operator.locator(button)).to_be_in_viewport()
    assert_accessible(operator)


def test_views_and_search_find_the_conversation(customer, operator):
    customer_says(customer, "Do you sell tractors with a sunroof?")
    expect(widget_messages(customer, "agent")).to_have_count(1, timeout=30_000)
    row = session_row(operator, customer)
    expect(row).to_have_count(1, timeout=10_000)
    operator.fill("#search", "tractors with a sunroof")
    expect(operator.locator("#session-table tbody tr")).to_have_count(1)
    expect(row).to_have_count(1)
    operator.fill("#search", "no conversation says this")
    expect(operator.locator("#empty")).to_have_text("No conversation matches your search.")
    operator.fill("#search", "")
    operator.click(".view[data-view=waiting]")
    expect(row).to_have_count(0)
    operator.click(".view[data-view=unassigned]")
    expect(row).to_have_count(1)
    operator.click(".view[data-view=mine]")
    expect(row).to_have_count(0)
    operator.click(".view[data-view=all]")
    row.get_by_role("link").click()
    operator.click("#take-over")
    expect(operator.locator("#holder")).to_have_text("· held by you")
    operator.go_back()
    operator.click(".view[data-view=mine]")
    expect(session_row(operator, customer)).to_have_count(1)
    operator.click(".view[data-view=all]")


def test_a_new_waiting_conversation_rings_once(customer, operator):
    customer_says(customer, "Hi!")
    expect(widget_messages(customer, "agent")).to_have_count(1, timeout=30_000)
    expect(session_row(operator, customer)).to_have_count(1, timeout=10_000)
    assert operator.evaluate("document.body.dataset.lastAlert") is None
    customer_says(customer, "I want to talk to a human please")
    expect(session_row(operator, customer)).to_have_class("waiting", timeout=30_000)
    operator.wait_for_function("document.body.dataset.lastAlert !== undefined")


def test_internal_notes_never_reach_the_customer(customer, operator):
    customer_says(customer, "Hello!")
    expect(widget_messages(customer, "agent")).to_have_count(1, timeout=30_000)
    session_row(operator, customer).get_by_role("link").click()
    operator.click(".tab[data-compose=note]")
    operator.fill("#reply-input", "Secret: " + XSS)
    operator.click("#add-note")
    expect(operator.locator("#notes .note .body")).to_have_text("Secret: " + XSS)
    operator.reload()
    expect(operator.locator("#notes .note .body")).to_have_text("Secret: " + XSS)
    assert operator.evaluate("document.body.dataset.pwned") is None

    # Not in the widget, not in the events API the customer's widget reads.
    customer.reload()
    expect(customer.locator("#parlant-widget .message")).to_have_count(2)
    events = customer.evaluate(
        """async (sessionId) => {
            const state = JSON.parse(Object.entries(localStorage)
              .find(([key]) => key.startsWith('parlant-widget'))[1]);
            const headers = state.guestToken ? { Authorization: "Bearer " + state.guestToken } : {};
            const response = await fetch(
              document.querySelector("script[data-server]").dataset.server +
              `/sessions/${sessionId}/events`, { headers });
            return await response.text();
        }""",
        session_id_of(customer),
    )
    assert "Hello!" in events
    assert "Secret" not in events


def test_saved_replies_fill_the_reply_box(customer, operator):
    customer_says(customer, "Hello!")
    expect(widget_messages(customer, "agent")).to_have_count(1, timeout=30_000)
    session_row(operator, customer).get_by_role("link").click()
    operator.fill("#reply-input", "Our showroom opens at 9 on weekdays.")
    operator.once("dialog", lambda dialog: dialog.accept("Opening hours"))
    operator.click("#save-reply")
    expect(operator.locator("#saved-replies option", has_text="Opening hours")).to_have_count(1)
    operator.fill("#reply-input", "")
    operator.select_option("#saved-replies", label="Opening hours")
    expect(operator.locator("#reply-input")).to_have_value("Our showroom opens at 9 on weekdays.")
    operator.click("#take-over")
    operator.click("#send-as-me")
    expect(widget_messages(customer, "agent").last).to_have_text(
        "Our showroom opens at 9 on weekdays.")


def test_customers_see_the_name_an_operator_chose(customer, browser, product):
    from tests.browser.accessibility import assert_accessible

    product.manage("create_operator", "pia", "--password", "pia-pw-2026")
    context = browser.new_context()
    operator = context.new_page()
    log_in(operator, product.url, "pia", "pia-pw-2026")
    operator.get_by_role("link", name="pia").click()
    assert_accessible(operator)
    operator.get_by_label("Name customers see").fill("Pia from Support")
    operator.get_by_role("button", name="Save").click()
    expect(operator.locator(".notice")).to_contain_text("Pia from Support")

    customer_says(customer, "Hello!")
    expect(widget_messages(customer, "agent")).to_have_count(1, timeout=30_000)
    operator.goto(product.url + "/dashboard/")
    session_row(operator, customer).get_by_role("link").click()
    operator.click("#take-over")
    expect(customer.locator("#parlant-widget .system-line")).to_have_text("Pia from Support joined")
    operator.fill("#reply-input", "Hello, Pia here.")
    operator.click("#send-as-me")
    reply = customer.locator("#parlant-widget .message.agent", has_text="Pia here")
    expect(reply.locator(".who")).to_have_text("Pia from Support")
    context.close()


def test_the_customer_panel_shows_who_is_talking(browser, product, operator):
    output = product.manage("shell", "-c", (
        "from behavior.models import Agent, Tag;"
        "from sessions_app.services import customer_create, session_create, customer_message_post;"
        "tag, _ = Tag.objects.get_or_create(name='vip');"
        "c = customer_create(name='Ada Lovelace', customer_id='ada-panel', tag_ids=[tag.id]);"
        "agent = Agent.objects.get(pk='otto-carmen');"
        "session_create(agent=agent, customer=c, title='Earlier visit');"
        "s = session_create(agent=agent, customer=c);"
        "customer_message_post(session=s, message='Is my car ready?');"
        "print(s.id)"
    ))
    operator.reload()
    row = operator.locator(f'#session-table tbody tr[data-session-id="{output.split()[-1]}"]')
    expect(row.locator(".title a")).to_have_text("Ada Lovelace", timeout=10_000)
    row.get_by_role("link").click()
    panel = operator.locator("#customer-panel")
    expect(panel.locator("#customer-name")).to_have_text("Ada Lovelace")
    expect(panel.locator(".tag")).to_have_text(["vip"])
    expect(panel.locator(".earlier a")).to_have_text(["Earlier visit"])


def test_an_operator_answers_from_a_phone(customer, browser, product, operator_login):
    from tests.browser.accessibility import assert_accessible

    customer_says(customer, "Hello!")
    expect(widget_messages(customer, "agent")).to_have_count(1, timeout=30_000)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    phone = context.new_page()
    log_in(phone, product.url, *operator_login)
    row = session_row(phone, customer)
    expect(row).to_have_count(1, timeout=10_000)
    assert_accessible(phone)
    row.get_by_role("link").click()
    phone.locator("#take-over").tap()
    expect(phone.locator("#holder")).to_have_text("· held by you")
    for control in ("#reply-input", "#send-as-me", "#take-over"):
        expect(phone.locator(control)).to_be_in_viewport()
    assert phone.eval_on_selector("#reply-input", "e => getComputedStyle(e).fontSize") == "16px"
    phone.fill("#reply-input", "Answering from my phone.")
    phone.locator("#send-as-me").tap()
    expect(widget_messages(customer, "agent").last).to_have_text("Answering from my phone.")
    assert_accessible(phone)
    context.close()
