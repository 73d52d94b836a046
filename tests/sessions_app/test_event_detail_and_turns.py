"""Reading one event, updating its metadata, and reading each turn's explanation."""

import pytest

from sessions_app.services import customer_message_post, event_append
from sessions_app.tasks import respond_to_session
from tests.builders import make_agent, make_greeting, make_session

pytestmark = pytest.mark.django_db


def test_it_reads_one_event_and_404s_an_event_of_another_session(api_client):
    session, other = make_session(), make_session()
    event = event_append(session_id=session.id, kind="custom", source="system", data={"a": 1})
    response = api_client.get(f"/sessions/{session.id}/events/{event.id}")
    assert response.status_code == 200
    assert response.json()["data"] == {"a": 1}
    assert api_client.get(f"/sessions/{other.id}/events/{event.id}").status_code == 404


def test_it_sets_and_unsets_event_metadata_only(api_client):
    session = make_session()
    event = event_append(
        session_id=session.id,
        kind="custom",
        source="system",
        data={"a": 1},
        metadata={"old": True},
    )
    response = api_client.patch(
        f"/sessions/{session.id}/events/{event.id}",
        {"metadata": {"set": {"rating": 5}, "unset": ["old"]}},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["metadata"] == {"rating": 5}
    assert response.json()["data"] == {"a": 1}
    bad = api_client.patch(
        f"/sessions/{session.id}/events/{event.id}", {"metadata": {"set": 3}}, format="json"
    )
    assert bad.status_code == 422


def test_each_turn_explains_what_matched_and_why(api_client, django_capture_on_commit_callbacks):
    agent = make_agent(name="Otto")
    guideline = make_greeting(agent)
    session = make_session(agent=agent)
    with django_capture_on_commit_callbacks(execute=False):
        message = customer_message_post(session=session, message="Hello!")
    respond_to_session.run(session.id, message.offset)
    response = api_client.get(f"/sessions/{session.id}/turns")
    assert response.status_code == 200
    [turn] = response.json()
    assert turn["status"] == "completed"
    explanation = turn["explanation"]
    assert [match["id"] for match in explanation["matched_guidelines"]] == [guideline.id]
    assert explanation["matched_guidelines"][0]["why"]
    assert explanation["matched_guidelines"][0]["guideline"] == (
        "When the customer greets you, then offer a refreshing drink"
    )
    assert explanation["llm"]["calls"] >= 1
    reply = session.events.get(kind="message", source="ai_agent")
    by_trace = api_client.get(f"/sessions/{session.id}/turns?trace_id={reply.trace_id}").json()
    assert [item["id"] for item in by_trace] == [turn["id"]]
