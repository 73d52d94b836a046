"""The editor's improvement loop in a real browser: a turn becomes a test, a guideline change
breaks it, the run shows the failure with a link to the guideline, restoring the earlier version
makes it pass; and the insights page of a generated session set."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_admin_authoring import log_in_as_admin

pytestmark = pytest.mark.browser

TESTS_PAGE = "/admin/quality/agentworkbench/otto-carmen/tests/"


def run_tests(page, product) -> None:
    page.goto(product.url + TESTS_PAGE)
    page.click("#run-tests")
    expect(page.locator("#run-progress")).to_be_visible()
    expect(page.locator("#run-status")).to_have_text("Finished", timeout=30_000)


def test_an_editor_saves_a_turn_as_a_test_breaks_it_and_restores_it(page, product):
    log_in_as_admin(page, product)
    page.goto(product.url + "/")  # the customer's chat page talks to Otto Carmen
    expect(page.locator("h1")).to_have_text("Otto Carmen")
    page.fill("#message-input", "Hello there, good to be here!")
    page.press("#message-input", "Enter")
    expect(page.locator(".message.ai_agent .body")).to_contain_text("drink", timeout=30_000)

    # Save the turn as a test from the session in admin.
    page.goto(product.url + "/admin/sessions_app/session/?q=")
    page.locator("#result_list tbody tr").first.locator("th a").click()
    page.locator("a.save-as-test").first.click()
    expect(page.locator("blockquote")).to_have_text("Hello there, good to be here!")
    page.click("input[name=save_as_test]")
    expect(page.locator("#id_definition_text")).to_contain_text("guidelines_matched")
    test_name = page.input_value("#id_name")
    page.click("input[name=_save]")
    expect(page.locator("#behavior-tests")).to_contain_text(test_name)

    run_tests(page, product)
    expect(page.locator(f'.result[data-test="{test_name}"] h3')).to_contain_text("PASSED")

    # Change the greeting guideline so that it no longer applies.
    page.goto(product.url + "/admin/behavior/guideline/?agent=otto-carmen&q=greets+you")
    page.get_by_role("link", name=re.compile("the customer greets you")).first.click()
    guideline_path = page.url.removeprefix(product.url).split("?")[0]
    # Guidelines match by meaning of their condition and examples: change both.
    page.fill("#id_condition", "the customer asks about trucks")
    page.fill("#id_examples", "do you sell pickup trucks?")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_be_visible()

    run_tests(page, product)
    result = page.locator(f'.result[data-test="{test_name}"]')
    expect(result.locator("h3")).to_contain_text("FAILED")
    expect(result).to_contain_text("the guideline did not match this message")
    fix = result.locator("a.fix-link").first
    assert fix.get_attribute("href") == guideline_path
    fix.click()
    expect(page.locator("#id_condition")).to_have_value("the customer asks about trucks")

    # Restore the version before the change, and the test passes again.
    page.locator("a.historylink").click()
    page.locator("#change-history button", has_text="Restore").first.click()
    expect(page.locator(".messagelist li").first).to_contain_text("Restored")
    expect(page.locator("#id_condition")).to_have_value("the customer greets you")
    expect(page.locator("#id_examples")).to_have_value(re.compile("hello"))

    run_tests(page, product)
    expect(page.locator(f'.result[data-test="{test_name}"] h3')).to_contain_text("PASSED")


def test_an_editor_reads_the_insights_of_generated_conversations(page, product):
    output = product.manage(
        "generate_conversations", "otto-carmen", "--sessions", "60", "--seed", "11"
    )
    unhandled = int(re.search(r"(\d+) unhandled", output).group(1))
    assert unhandled > 0
    log_in_as_admin(page, product)
    page.goto(product.url + "/admin/quality/agentworkbench/")
    page.get_by_role("row", name=re.compile("Otto Carmen")).get_by_role(
        "link", name="Insights"
    ).click()

    expect(page.locator("#conversations svg").first).to_be_visible()
    conversations = int(re.search(r"\d+", page.locator("#conversations h2").inner_text()).group())
    assert conversations >= 60
    listed = int(re.search(r"\((\d+)\)", page.locator("#unhandled h2").inner_text()).group(1))
    assert listed >= unhandled
    expect(page.locator("#outcome-figures")).to_contain_text("handed off")
    expect(page.locator("#journeys")).to_contain_text("Schedule a test drive")
    expect(page.locator("#latency")).to_contain_text(re.compile(r"p50 \d+ ms · p95 \d+ ms"))
    expect(page.locator("#guidelines svg")).to_be_visible()

    page.locator("#unhandled li a", has_text="bicycles").first.click()
    expect(page.locator("#content h1, #content h2").first).to_be_visible()
    assert "/admin/sessions_app/session/" in page.url
