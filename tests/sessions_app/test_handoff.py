"""Human handoff: modes, who holds a session, the dashboard's pages and JSON."""

import pytest
from django.core.management import call_command

from sessions_app.models import Session, Turn
from sessions_app.services import customer_message_post, session_handoff, turn_claim
from tests.builders import make_agent, make_customer, make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(django_user_model):
    call_command("create_operator", "olga", password="pw", first_name="Olga")
    return django_user_model.objects.get(username="olga")


@pytest.fixture
def operator_client(api_client, operator):
    api_client.force_login(operator)
    return api_client


def test_an_operator_taking_over_holds_the_session_and_the_agent_stays_silent(operator_client,
                                                                               operator):
    session = make_session()
    response = operator_client.patch(f"/sessions/{session.id}", {"mode": "manual"}, format="json")
    assert response.status_code == 200
    assert response.json()["mode"] == "manual"
    session.refresh_from_db()
    assert session.held_by == operator

    event = customer_message_post(session=session, message="Are you a robot?")
    assert turn_claim(session_id=session.id, trigger_offset=event.offset) is None
    assert not Turn.objects.filter(session=session).exists()


def test_handing_back_lets_the_agent_answer_again_and_frees_the_session(operator_client):
    session = make_session()
    operator_client.patch(f"/sessions/{session.id}", {"mode": "manual"}, format="json")
    response = operator_client.patch(f"/sessions/{session.id}", {"mode": "auto"}, format="json")
    assert response.json()["mode"] == "auto"
    session.refresh_from_db()
    assert session.held_by is None
    event = customer_message_post(session=session, message="Hello again")
    assert turn_claim(session_id=session.id, trigger_offset=event.offset) is not None


def test_a_switch_by_an_app_leaves_the_session_waiting_for_any_operator(api_client, operator):
    session = make_session()
    api_client.patch(f"/sessions/{session.id}", {"mode": "manual"}, format="json")
    session.refresh_from_db()
    assert (session.mode, session.held_by) == ("manual", None)


def test_the_list_puts_sessions_waiting_for_a_human_first(operator_client, operator):
    agent = make_agent(name="Otto")
    quiet = make_session(agent=agent, customer=make_customer(name="Quiet"))
    waiting = make_session(agent=agent, customer=make_customer(name="Waiting"))
    held = make_session(agent=agent, customer=make_customer(name="Held"))
    customer_message_post(session=quiet, message="just browsing")
    session_handoff(session_id=held.id, mode="manual", operator=operator)
    session_handoff(session_id=waiting.id, mode="manual")
    customer_message_post(session=Session.objects.get(pk=waiting.id), message="I need a person")

    rows = operator_client.get("/dashboard/api/sessions").json()["sessions"]
    assert [row["customer"] for row in rows] == ["Waiting", "Held", "Quiet"]
    assert rows[0]["is_waiting"] is True
    assert rows[0]["last_message"] == "I need a person"
    assert rows[1]["held_by"] == "Olga"
    assert rows[2]["mode"] == "auto"


def test_the_list_costs_one_query_however_many_sessions(operator_client,
                                                        django_assert_max_num_queries):
    for _ in range(5):
        customer_message_post(session=make_session(), message="hi")
    # Login session, user, the user's and their groups' permissions; then one for the list and
    # one for the count of waiting sessions (the tab title's number).
    with django_assert_max_num_queries(6):
        assert operator_client.get("/dashboard/api/sessions").status_code == 200


def test_human_replies_carry_who_wrote_them(operator_client):
    session = make_session(agent=make_agent(name="Otto"))
    as_human = operator_client.post(
        f"/sessions/{session.id}/events",
        {"kind": "message", "source": "human_agent", "message": "Olga here, happy to help.",
         "participant": {"id": "olga", "display_name": "Olga"}},
        format="json",
    )
    assert as_human.status_code == 201
    assert as_human.json()["data"]["participant"]["display_name"] == "Olga"
    as_agent = operator_client.post(
        f"/sessions/{session.id}/events",
        {"kind": "message", "source": "human_agent_on_behalf_of_ai_agent", "message": "Done!"},
        format="json",
    )
    assert as_agent.status_code == 201
    assert as_agent.json()["source"] == "human_agent_on_behalf_of_ai_agent"
    assert as_agent.json()["data"]["participant"]["display_name"] == "Otto"


def test_the_dashboard_is_for_operators_only(client, django_user_model, operator):
    assert client.get("/dashboard/").status_code == 302
    assert "/admin/login/" in client.get("/dashboard/")["Location"]
    clerk = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    client.force_login(clerk)
    assert client.get("/dashboard/").status_code == 403
    assert client.get("/dashboard/api/sessions").status_code == 403
    client.force_login(operator)
    page = client.get("/dashboard/")
    assert page.status_code == 200
    assert b"Operator dashboard" in page.content


def test_the_session_page_escapes_what_customers_and_agents_wrote(client, operator):
    payload = "<script>alert('x')</script>"
    agent = make_agent(name=payload)
    session = make_session(agent=agent, customer=make_customer(name=payload), title=payload)
    client.force_login(operator)
    page = client.get(f"/dashboard/sessions/{session.id}/").content.decode()
    assert payload not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_an_agent_reply_has_its_explanation(operator_client):
    session = make_session()
    Turn.objects.create(session=session, trigger_offset=0, trace_id="trace-1",
                        status=Turn.Status.COMPLETED, trace={"matched": ["greeting"]})
    found = operator_client.get(f"/dashboard/api/sessions/{session.id}/traces/trace-1")
    assert found.json()["trace"] == {"matched": ["greeting"]}
    missing = operator_client.get(f"/dashboard/api/sessions/{session.id}/traces/nope")
    assert missing.status_code == 404
    assert missing.json()["detail"]


def test_an_unknown_mode_is_a_clear_422(operator_client):
    session = make_session()
    response = operator_client.patch(f"/sessions/{session.id}", {"mode": "robot"}, format="json")
    assert response.status_code == 422
    assert "mode" in response.json()["detail"]


@pytest.mark.django_db(databases=[])
async def test_the_operator_feed_refuses_anonymous_sockets(product):
    import websockets
    from websockets.exceptions import InvalidStatus

    url = product.url.replace("http", "ws") + "/ws/dashboard"
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(url, origin=product.url):
            pass
    assert refused.value.response.status_code == 403
