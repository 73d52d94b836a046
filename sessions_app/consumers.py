"""WebSocket consumers: thin; they authorize, replay from an offset, then forward pushes."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from sessions_app.authentication import staff_roles
from sessions_app.broadcast import (
    OPERATORS_GROUP,
    event_payload,
    remember_server_loop,
    session_group,
)
from sessions_app.permissions import Role, can_watch_session
from sessions_app.selectors import events_since


@database_sync_to_async
def _replay(session_id: str, min_offset: int) -> list[dict]:
    return [event_payload(event) for event in events_since(session_id, min_offset)]


@database_sync_to_async
def _is_operator(scope: dict) -> bool:
    user = scope.get("user")
    return bool(
        user is not None and user.is_authenticated
        and staff_roles(user) & {Role.OPERATOR, Role.ADMIN}
    )


@database_sync_to_async
def _typing_identity(scope: dict) -> tuple[str, str]:
    """Who is typing, as the other side reads it: an operator's public name, or the customer."""
    user = scope.get("user")
    staff = user is not None and user.is_authenticated and staff_roles(user)
    if staff and staff & {Role.OPERATOR, Role.ADMIN}:
        from inbox.services import operator_public_profile

        return "operator", operator_public_profile(user)["display_name"]
    return "customer", ""


class SessionEventsConsumer(AsyncJsonWebsocketConsumer):
    """Streams a session's events, in the REST API's JSON, from `?min_offset=N` on.

    Pushes may overtake the replay; the client keys events by offset, so a repeat updates in
    place (streamed messages reuse their offset too) and nothing is lost. A change of mode or
    holder arrives as `{"type": "session"}`, for the client to re-read the session.
    """

    async def connect(self) -> None:
        remember_server_loop()
        self.session_id = self.scope["url_route"]["kwargs"]["session_id"]
        if not await can_watch_session(self.scope, self.session_id):
            await self.close(code=4403)
            return
        await self.channel_layer.group_add(session_group(self.session_id), self.channel_name)
        await self.accept()
        for payload in await _replay(self.session_id, self._min_offset()):
            await self.send_json({"type": "event", "event": payload})

    def _min_offset(self) -> int:
        query = self.scope.get("query_string", b"").decode()
        for part in query.split("&"):
            key, _, value = part.partition("=")
            if key == "min_offset" and value.isdigit():
                return int(value)
        return 0

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "session_id"):
            await self.channel_layer.group_discard(
                session_group(self.session_id), self.channel_name
            )

    async def session_event(self, message: dict) -> None:
        await self.send_json({"type": "event", "event": message["event"]})

    async def receive_json(self, content: dict, **kwargs: object) -> None:
        """`{"type": "typing"}`: tell the other side of the conversation, never the sender."""
        if not isinstance(content, dict) or content.get("type") != "typing":
            return
        role, name = await _typing_identity(self.scope)
        await self.channel_layer.group_send(
            session_group(self.session_id),
            {"type": "session.typing", "role": role, "name": name, "sender": self.channel_name},
        )

    async def session_typing(self, message: dict) -> None:
        if message.get("sender") != self.channel_name:
            await self.send_json(
                {"type": "typing", "role": message["role"], "name": message["name"]}
            )

    async def session_changed(self, message: dict) -> None:
        await self.send_json({"type": "session", "session_id": message["session_id"]})


class OperatorDashboardConsumer(AsyncJsonWebsocketConsumer):
    """Tells operators' session lists that a session changed; they re-read the list."""

    async def connect(self) -> None:
        remember_server_loop()
        if not await _is_operator(self.scope):
            await self.close(code=4403)
            return
        self.joined = True
        await self.channel_layer.group_add(OPERATORS_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "joined", False):
            await self.channel_layer.group_discard(OPERATORS_GROUP, self.channel_name)

    async def dashboard_activity(self, message: dict) -> None:
        await self.send_json({"type": "activity", "session_id": message["session_id"]})
