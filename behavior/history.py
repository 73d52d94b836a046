"""Change history of authored behaviour, kept with django-reversion.

Every write path records a revision: admin through VersionAdmin, the API, SDK and import through
`revision()`. A revision holds the changed rows plus the rows they follow (a guideline's tool
associations, a journey's states and transitions, a variable's values), so restoring one puts
the whole entity back as it was.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import reversion


def register_models() -> None:
    from behavior import models

    follows = {
        models.Guideline: ("tool_associations",),
        models.Journey: ("states", "transitions"),
        models.ContextVariable: ("values",),
    }
    for model in (
        models.Agent,
        models.Tag,
        models.Guideline,
        models.GuidelineToolAssociation,
        models.Relationship,
        models.Journey,
        models.JourneyState,
        models.JourneyTransition,
        models.GlossaryTerm,
        models.ContextVariable,
        models.ContextVariableValue,
        models.CannedResponse,
        models.Capability,
    ):
        if not reversion.is_registered(model):
            reversion.register(model, follow=follows.get(model, ()))


@contextmanager
def revision(comment: str, user: Any = None) -> Iterator[None]:
    """Record every registered row saved inside the block as one revision (nests safely)."""
    with reversion.create_revision():
        reversion.set_comment(comment)
        if user is not None and getattr(user, "is_authenticated", False):
            reversion.set_user(user)
        yield
