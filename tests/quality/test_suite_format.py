"""The behaviour-test file format: what it accepts, and errors that name file, test and field."""

import json

import pytest

from quality.suite import SuiteError, load_suite_text


def problems_of(text: str) -> list[str]:
    with pytest.raises(SuiteError) as caught:
        load_suite_text(text, source="suite.yaml")
    return caught.value.problems


def test_it_reads_a_yaml_suite_with_every_kind_of_expectation():
    suite = load_suite_text(
        """
agent: otto-carmen
customer: {name: Dana, tags: [vip], variables: {current_promotion: none}}
tests:
  - name: books
    conversation:
      - customer: Hi
      - agent: Hello!
      - tool: {tool: get_opening_hours, arguments: {}, result: {sunday: closed}}
    journey_state: {journey: Schedule a test drive, state: ask which day suits them}
    message: Tuesday
    expect:
      guidelines_matched: [the customer greets you]
      guidelines_not_matched: abc123
      journey: {journey: Schedule a test drive, ended: true}
      tool_calls: [{tool: check_test_drive_availability, arguments: {car_model: Bolt}}]
      canned_response: Welcome!
      reply_contains: slot
      reply_does_not_contain: [Sunday]
      handoff: false
      criteria: [offers a slot]
""",
        source="suite.yaml",
    )
    test = suite.tests[0]
    assert suite.agent_id == "otto-carmen"
    assert suite.customer.tags == ("vip",)
    assert [item.role for item in test.conversation] == ["customer", "agent", "tool"]
    assert test.conversation[2].tool_calls[0]["tool_id"] == "get_opening_hours"
    assert test.expect.journey.is_ended is True
    assert test.expect.guidelines_not_matched == ("abc123",)
    assert test.expect.tool_calls[0].arguments == {"car_model": "Bolt"}
    assert test.expect.handoff is False


def test_it_accepts_json():
    document = {
        "agent": "a1",
        "tests": [{"name": "t", "message": "hi", "expect": {"no_reply": True}}],
    }
    suite = load_suite_text(json.dumps(document), source="suite.json")
    assert suite.tests[0].expect.is_no_reply is True


def test_it_names_the_file_the_test_and_the_field_of_each_problem():
    problems = problems_of(
        """
agent: otto-carmen
tests:
  - name: greeting
    message: Hello
    expect:
      guidelines_matched: 42
      handoff: "yes"
      reply_contain: [drink]
  - name: empty
    expect: {no_reply: true}
"""
    )
    assert (
        "suite.yaml: test 'greeting'.expect.guidelines_matched: expected a text or a list of texts"
        in problems
    )
    assert "suite.yaml: test 'greeting'.expect.handoff: expected true or false" in problems
    assert any("test 'greeting'.expect: unknown field 'reply_contain'" in p for p in problems)
    assert "suite.yaml: test 'empty'.message: expected a non-empty text" in problems


def test_it_refuses_a_suite_without_an_agent_or_with_two():
    both = problems_of(
        "agent: a\nbehavior: {format: x}\ntests: [{name: t, message: m, expect: {no_reply: true}}]"
    )
    assert any("exactly one of agent" in p for p in both)


def test_it_refuses_contradictions_and_duplicate_names():
    problems = problems_of(
        """
agent: a
tests:
  - {name: t, message: m, expect: {no_tool_call: true, tool_calls: [x]}}
  - {name: t, message: m, expect: {no_reply: true, reply_contains: [hi]}}
"""
    )
    assert any("no_tool_call contradicts tool_calls" in p for p in problems)
    assert any("no_reply contradicts" in p for p in problems)
    assert any("two tests have this name" in p for p in problems)


def test_it_reports_broken_yaml_with_the_file_name():
    (problem,) = problems_of("tests: [unclosed")
    assert problem.startswith("suite.yaml: not valid YAML or JSON")
