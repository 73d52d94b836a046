"""The sessions API: Parlant's shapes, and clear 4xx errors for bad input."""

import pytest
from django.test import override_settings

from sessions_app.models import Event
from tests.builders import make_agent, make_customer, make_session

pytestmark = pytest.mark.django_db


def test_it_creates_a_session_for_the_guest_when_no_customer_is_given(api_client):
    agent = make_agent()
    response = api_client.post("/sessions", {"agent_id": agent.id}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["customer_id"] == "guest"
    assert body["mode"] == "auto"
    assert body["consumption_offsets"] == {"client": 0}
    assert set(body) == {
        "id",
        "agent_id",
        "customer_id",
        "creation_utc",
        "title",
        "mode",
        "consumption_offsets",
        "metadata",
        "labels",
    }


def test_it_rejects_a_session_for_an_unknown_agent(api_client):
    response = api_client.post("/sessions", {"agent_id": "missing"}, format="json")
    assert response.status_code == 422
    assert "missing" in response.json()["detail"]


def test_it_answers_404_for_an_unknown_session(api_client):
    assert api_client.get("/sessions/nope").status_code == 404
    response = api_client.post(
        "/sessions/nope/events",
        {"kind": "message", "source": "customer", "message": "hi"},
        format="json",
    )
    assert response.status_code == 404
    assert response.json()["detail"]


def test_it_answers_400_for_a_body_that_is_not_json(api_client):
    session = make_session()
    response = api_client.generic(
        "POST", f"/sessions/{session.id}/events", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_it_requires_a_message_for_a_customer_message(api_client):
    session = make_session()
    response = api_client.post(
        f"/sessions/{session.id}/events", {"kind": "message", "source": "customer"}, format="json"
    )
    assert response.status_code == 422
    assert "message" in response.json()["detail"]
    assert not Event.objects.filter(session=session).exists()


def test_it_rejects_an_unknown_kind_with_the_field_named(api_client):
    session = make_session()
    response = api_client.post(
        f"/sessions/{session.id}/events",
        {"kind": "shout", "source": "customer", "message": "x"},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("kind:")


@override_settings(PARLANT_MAX_MESSAGE_CHARS=50)
def test_it_rejects_an_oversized_message_and_says_the_limit(api_client):
    session = make_session()
    response = api_client.post(
        f"/sessions/{session.id}/events",
        {"kind": "message", "source": "customer", "message": "x" * 51},
        format="json",
    )
    assert response.status_code == 422
    assert "50" in response.json()["detail"]
    assert not Event.objects.filter(session=session).exists()


def test_it_keeps_markup_in_a_message_verbatim(api_client, django_capture_on_commit_callbacks):
    session = make_session()
    payload = "<script>alert('x')</script>"
    with django_capture_on_commit_callbacks(execute=False):
        response = api_client.post(
            f"/sessions/{session.id}/events",
            {"kind": "message", "source": "customer", "message": payload},
            format="json",
        )
    assert response.status_code == 201
    assert response.json()["data"]["message"] == payload


def test_events_list_validates_its_query(api_client):
    session = make_session()
    response = api_client.get(f"/sessions/{session.id}/events?kinds=message,bogus&wait_for_data=0")
    assert response.status_code == 422
    assert "bogus" in response.json()["detail"]
    response = api_client.get(f"/sessions/{session.id}/events?min_offset=-1&wait_for_data=0")
    assert response.status_code == 422


def test_events_list_filters_by_offset_and_kind(api_client):
    from sessions_app.services import event_append

    session = make_session()
    for kind in ("custom", "status", "custom"):
        event_append(session_id=session.id, kind=kind, source="system", data={"k": kind})
    response = api_client.get(
        f"/sessions/{session.id}/events?min_offset=1&kinds=custom&wait_for_data=0"
    )
    assert response.status_code == 200
    assert [event["offset"] for event in response.json()] == [2]


def test_it_patches_mode_title_labels_and_metadata(api_client):
    session = make_session(metadata={"keep": 1, "drop": 2})
    response = api_client.patch(
        f"/sessions/{session.id}",
        {
            "mode": "manual",
            "title": "Help",
            "labels": {"upsert": ["vip"]},
            "metadata": {"set": {"new": 3}, "unset": ["drop"]},
        },
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["mode"], body["title"], body["labels"]) == ("manual", "Help", ["vip"])
    assert body["metadata"] == {"keep": 1, "new": 3}


def test_customers_are_listed_plainly_or_in_pages(api_client):
    for name in ("Ann", "Ben", "Cat"):
        make_customer(name=name)
    assert len(api_client.get("/customers").json()) == 3
    page = api_client.get("/customers?limit=2").json()
    assert (len(page["items"]), page["total_count"], page["has_more"]) == (2, 3, True)
    rest = api_client.get(f"/customers?limit=2&cursor={page['next_cursor']}").json()
    assert [c["name"] for c in rest["items"]] == ["Cat"]
    assert api_client.get("/customers?limit=2&cursor=%%%").status_code == 422


def test_agent_names_are_escaped_on_the_chat_page(client):
    make_agent(name="<script>alert(1)</script>")
    page = client.get("/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_body_over_the_upload_limit_answers_413_in_json(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    session = make_session()
    body = '{"kind": "message", "source": "customer", "message": "' + "x" * 2000 + '"}'
    response = api_client.generic(
        "POST", f"/sessions/{session.id}/events", body, content_type="application/json"
    )
    assert response.status_code == 413
    assert "1000" in response.json()["detail"]
    assert not Event.objects.filter(session=session).exists()


def test_sessions_are_filtered_by_every_label_given(api_client):
    vip = make_session(labels=["vip", "loan"])
    make_session(labels=["vip"])
    make_session(labels=[])
    response = api_client.get("/sessions?labels=vip&labels=loan")
    assert [session["id"] for session in response.json()] == [vip.id]
    assert len(api_client.get("/sessions?labels=vip").json()) == 2
