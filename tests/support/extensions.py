"""A custom NLP service and engine hooks, loaded by dotted path as a user's own would be."""

from engine.hooks import EngineHooks, HookAction, MessagePayload
from engine.nlp.local import LocalNLPService


class ShoutingLocalService(LocalNLPService):
    """The local provider under another name: proves a custom class is what the engine uses."""

    name = "shouting-local"


async def sign_every_reply(context, payload: MessagePayload) -> HookAction:
    payload.text = f"{payload.text} (via hook)"
    return HookAction.CALL_NEXT


def signing_hooks() -> EngineHooks:
    return EngineHooks(on_before_message=[sign_every_reply])
