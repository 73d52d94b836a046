"""The database cost of one whole turn has a ceiling, so that a regression fails CI.

A customer message is posted through the API and its turn is run as the in-process worker runs
it (the task function, in this thread). Inside the test's own transaction each of the product's
transactions is a savepoint opened at the test's depth, and a write outside any atomic block is
an autocommit, so both are counted as the commits they would be in production.

The ceilings sit a little above today's counts (measured on SQLite and PostgreSQL); lower them
when a change makes a turn cheaper.
"""

from dataclasses import dataclass, field

import pytest
from django.db import connection

from sessions_app.models import Event
from sessions_app.tasks import respond_to_session
from tests.builders import make_agent, make_guideline, make_session

pytestmark = pytest.mark.django_db

# Today: 67 queries and 9 commits on both SQLite and PostgreSQL.
MAX_QUERIES_PER_TURN = 75
MAX_COMMITS_PER_TURN = 10

WRITE_PREFIXES = ("INSERT", "UPDATE", "DELETE")


@dataclass
class DatabaseCost:
    """Statements and production-level commits seen on this thread's connection."""

    base_depth: int
    statements: list[str] = field(default_factory=list)
    commits: int = 0

    def __call__(self, execute, sql, params, many, context):
        statement = sql.lstrip().upper()
        at_top = len(connection.atomic_blocks) == self.base_depth
        # Atomic.__enter__ creates the savepoint before it registers the block, so a block the
        # product opens at the top is seen at the test's own depth.
        if at_top and (statement.startswith("SAVEPOINT") or statement.startswith(WRITE_PREFIXES)):
            self.commits += 1
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            self.statements.append(sql)
        return execute(sql, params, many, context)


def test_one_turn_stays_within_its_query_and_commit_budget(
    api_client, django_capture_on_commit_callbacks
):
    agent = make_agent(name="Otto")
    make_guideline(agent, condition="the customer greets you", action="offer a refreshing drink")
    session = make_session(agent=agent)
    cost = DatabaseCost(base_depth=len(connection.atomic_blocks))

    with connection.execute_wrapper(cost):
        # The broadcast and the turn are queued on commit; the test runs the turn itself.
        with django_capture_on_commit_callbacks(execute=False):
            response = api_client.post(
                f"/sessions/{session.id}/events",
                {"kind": "message", "source": "customer", "message": "Hello there!"},
                format="json",
            )
        assert response.status_code == 201, response.content
        with django_capture_on_commit_callbacks(execute=False):
            respond_to_session.run(session.id, response.json()["offset"])

    reply = Event.objects.filter(session=session, kind="message", source="ai_agent")
    assert reply.count() == 1  # the budget is for a turn that did its whole job
    figures = f"{len(cost.statements)} queries and {cost.commits} commits"
    assert len(cost.statements) <= MAX_QUERIES_PER_TURN, figures
    assert cost.commits <= MAX_COMMITS_PER_TURN, figures
    # A floor too, so that a counter that stopped seeing anything cannot pass.
    assert cost.commits >= 2, figures
