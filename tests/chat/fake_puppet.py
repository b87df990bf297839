"""A fake Wechaty puppet service: a real gRPC server on 127.0.0.1 that plays a logged-in WeChat account.

wechaty-grpc ships only the client stub (`PuppetStub`), so the server side is built here on grpclib:
every RPC the stub knows gets a handler that records the request and answers an empty response, and the
RPCs a bot really uses are answered from the contacts, rooms and messages a test sets up.

Things the real protocol does that the fake reproduces, because the bot depends on them:
* `MessagePayload.type` uses the TypeScript puppet's numbering (text = 7), not the gRPC enum's;
* `MessageSendText` carries mentions in a field spelt `mentonal_ids`;
* after every send the client asks `MessagePayload` for the new id, so sent messages are stored too;
* a puppet that is logged in announces the login on every new event stream (`auto_login`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from grpclib.const import Cardinality, Handler, Status
from grpclib.exceptions import GRPCError
from grpclib.server import Server
from wechaty_grpc.wechaty import PuppetStub
from wechaty_grpc.wechaty import puppet as pb

TS_MESSAGE_TYPE = {"text": 7, "image": 6, "mini_program": 9, "url": 14, "video": 15, "emoticon": 5}
_CARDINALITY = {
    "_unary_unary": Cardinality.UNARY_UNARY,
    "_unary_stream": Cardinality.UNARY_STREAM,
    "_stream_unary": Cardinality.STREAM_UNARY,
}
_END = object()
_BREAK = object()


def _rpcs() -> list[tuple[str, str, Any, Any, Cardinality]]:
    """(method name, gRPC path, request class, response class, cardinality) of every PuppetStub RPC."""
    table = []
    for name, method in inspect.getmembers(PuppetStub, inspect.isfunction):
        if name.startswith("_"):
            continue
        source = inspect.getsource(method)
        path = re.search(r'"(/wechaty\.Puppet/\w+)"', source)
        response = re.search(r"puppet\.(\w+Response)", source)
        kind = re.search(r"self\.(_unary_unary|_unary_stream|_stream_unary)", source)
        if not (path and response and kind):
            continue
        response_cls = getattr(pb, response.group(1))
        request_cls = getattr(pb, response.group(1).removesuffix("Response") + "Request")
        table.append((name, path.group(1), request_cls, response_cls, _CARDINALITY[kind.group(1)]))
    return table


WAIT = 30.0
"""Seconds a wait on the fake puppet gives up after: a safety net, not a speed check (the first
connection imports python-wechaty, which takes seconds on a loaded machine)."""


@dataclass
class Sent:
    """One message the bot sent, decoded from its RPC."""

    rpc: str
    conversation_id: str
    text: str = ""
    mention_ids: list[str] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)
    """The JSON of a file box, url link or mini program."""


class FakePuppet:
    def __init__(self, self_id: str = "bot_wxid", self_name: str = "推客小助手", *, auto_login: bool = True):
        self.self_id = self_id
        self.self_name = self_name
        self.auto_login = auto_login
        self.calls: list[tuple[str, Any]] = []
        self.sent: list[Sent] = []
        self.contacts: dict[str, pb.ContactPayloadResponse] = {}
        self.rooms: dict[str, pb.RoomPayloadResponse] = {}
        self.room_aliases: dict[tuple[str, str], str] = {}
        self.messages: dict[str, pb.MessagePayloadResponse] = {}
        self.url_links: dict[str, dict[str, Any]] = {}
        self.mini_programs: dict[str, dict[str, Any]] = {}
        self.streams_opened = 0
        self.streams_open = 0
        self._events: asyncio.Queue[Any] = asyncio.Queue()
        self._ids = 0
        self.add_contact(self_id, self_name)

    # -- what the account knows ----------------------------------------------------------------------

    def add_contact(self, contact_id: str, name: str) -> None:
        self.contacts[contact_id] = pb.ContactPayloadResponse(
            id=contact_id, name=name, type=pb.ContactType.CONTACT_TYPE_PERSONAL
        )

    def add_room(self, room_id: str, topic: str, member_ids: list[str], owner_id: str = "") -> None:
        self.rooms[room_id] = pb.RoomPayloadResponse(
            id=room_id, topic=topic, member_ids=list(member_ids), owner_id=owner_id
        )

    def add_message(
        self,
        message_id: str,
        *,
        talker: str,
        text: str = "",
        room: str = "",
        to: str = "",
        mentions: list[str] | None = None,
        kind: str = "text",
    ) -> None:
        self.messages[message_id] = pb.MessagePayloadResponse(
            id=message_id,
            text=text,
            timestamp=int(time.time()),
            type=TS_MESSAGE_TYPE[kind],
            from_id=talker,
            room_id=room,
            to_id=to,
            mention_ids=list(mentions or []),
        )

    # -- events the puppet pushes ----------------------------------------------------------------------

    def emit(self, event_type: pb.EventType, payload: dict[str, Any]) -> None:
        self._events.put_nowait(pb.EventResponse(type=event_type, payload=json.dumps(payload)))

    def emit_login(self) -> None:
        self.emit(pb.EventType.EVENT_TYPE_LOGIN, {"contactId": self.self_id})

    def emit_logout(self) -> None:
        self.emit(pb.EventType.EVENT_TYPE_LOGOUT, {"contactId": self.self_id, "data": "logout"})

    def emit_scan(self, qrcode: str, status: int = 2) -> None:
        self.emit(pb.EventType.EVENT_TYPE_SCAN, {"status": status, "qrcode": qrcode, "data": ""})

    def emit_message(self, message_id: str) -> None:
        self.emit(pb.EventType.EVENT_TYPE_MESSAGE, {"messageId": message_id})

    def emit_room_join(self, room_id: str, invitee_ids: list[str], inviter_id: str) -> None:
        self.emit(
            pb.EventType.EVENT_TYPE_ROOM_JOIN,
            {
                "roomId": room_id,
                "inviteeIdList": invitee_ids,
                "inviterId": inviter_id,
                "timestamp": int(time.time()),
            },
        )

    def end_event_stream(self) -> None:
        """Close the current event stream normally (what a restarting gateway does)."""
        self._events.put_nowait(_END)

    def break_event_stream(self) -> None:
        """Abort the current event stream with an UNAVAILABLE error (a puppet that crashed)."""
        self._events.put_nowait(_BREAK)

    # -- waiting ---------------------------------------------------------------------------------------

    async def wait_until(self, condition: Callable[[], bool], within: float = WAIT) -> None:
        await wait_until(condition, within)

    async def wait_sent(self, count: int, within: float = WAIT) -> list[Sent]:
        await wait_until(lambda: len(self.sent) >= count, within)
        return self.sent[:count]

    def called(self, rpc: str) -> list[Any]:
        return [request for name, request in self.calls if name == rpc]

    # -- grpclib plumbing --------------------------------------------------------------------------------

    def __mapping__(self) -> dict[str, Handler]:
        return {
            path: Handler(
                self._handler(name, response_cls, cardinality), cardinality, request_cls, response_cls
            )
            for name, path, request_cls, response_cls, cardinality in _rpcs()
        }

    def _handler(self, name: str, response_cls: Any, cardinality: Cardinality) -> Callable[[Any], Any]:
        answer = getattr(self, "rpc_" + name, None)

        async def handle(stream: Any) -> None:
            if cardinality is Cardinality.STREAM_UNARY:
                request: Any = [message async for message in stream]
            else:
                request = await stream.recv_message()
            self.calls.append((name, request))
            if cardinality is Cardinality.UNARY_STREAM:
                if answer is not None:
                    await answer(request, stream)
                return
            await stream.send_message(await answer(request) if answer is not None else response_cls())

        return handle

    # -- the RPCs a bot uses ----------------------------------------------------------------------------

    async def rpc_event(self, request: Any, stream: Any) -> None:
        self.streams_opened += 1
        self.streams_open += 1
        try:
            if self.auto_login:
                await stream.send_message(
                    pb.EventResponse(
                        type=pb.EventType.EVENT_TYPE_LOGIN, payload=json.dumps({"contactId": self.self_id})
                    )
                )
            while True:
                event = await self._events.get()
                if event is _END:
                    return
                if event is _BREAK:
                    raise GRPCError(Status.UNAVAILABLE, "puppet restarting")
                await stream.send_message(event)
        finally:
            self.streams_open -= 1

    async def rpc_contact_payload(self, request: Any) -> Any:
        return self.contacts.get(request.id) or pb.ContactPayloadResponse(id=request.id, name=request.id)

    async def rpc_room_payload(self, request: Any) -> Any:
        return self.rooms.get(request.id) or pb.RoomPayloadResponse(id=request.id)

    async def rpc_room_member_payload(self, request: Any) -> Any:
        contact = self.contacts.get(request.member_id)
        return pb.RoomMemberPayloadResponse(
            id=request.member_id,
            name=contact.name if contact else "",
            room_alias=self.room_aliases.get((request.id, request.member_id), ""),
        )

    async def rpc_room_list(self, request: Any) -> Any:
        return pb.RoomListResponse(ids=list(self.rooms))

    async def rpc_room_member_list(self, request: Any) -> Any:
        room = self.rooms.get(request.id)
        return pb.RoomMemberListResponse(member_ids=list(room.member_ids) if room else [])

    async def rpc_message_payload(self, request: Any) -> Any:
        return self.messages.get(request.id) or pb.MessagePayloadResponse(id=request.id)

    async def rpc_message_url(self, request: Any) -> Any:
        return pb.MessageUrlResponse(url_link=json.dumps(self.url_links[request.id]))

    async def rpc_message_mini_program(self, request: Any) -> Any:
        return pb.MessageMiniProgramResponse(mini_program=json.dumps(self.mini_programs[request.id]))

    def _record(self, sent: Sent, kind: str) -> str:
        self._ids += 1
        message_id = f"sent-{self._ids}"
        self.sent.append(sent)
        self.add_message(
            message_id, talker=self.self_id, room=sent.conversation_id, text=sent.text, kind=kind
        )
        return message_id

    async def rpc_message_send_text(self, request: Any) -> Any:
        sent = Sent("MessageSendText", request.conversation_id, request.text, list(request.mentonal_ids))
        return pb.MessageSendTextResponse(id=self._record(sent, "text"))

    async def rpc_message_send_file(self, request: Any) -> Any:
        sent = Sent("MessageSendFile", request.conversation_id, payload=json.loads(request.filebox))
        return pb.MessageSendFileResponse(id=self._record(sent, "image"))

    async def rpc_message_send_url(self, request: Any) -> Any:
        sent = Sent("MessageSendUrl", request.conversation_id, payload=json.loads(request.url_link))
        return pb.MessageSendUrlResponse(id=self._record(sent, "url"))

    async def rpc_message_send_mini_program(self, request: Any) -> Any:
        sent = Sent(
            "MessageSendMiniProgram", request.conversation_id, payload=json.loads(request.mini_program)
        )
        return pb.MessageSendMiniProgramResponse(id=self._record(sent, "mini_program"))


async def wait_until(condition: Callable[[], bool], within: float = WAIT) -> None:
    """Poll `condition` until it holds; the bot under test runs in the same loop meanwhile."""
    deadline = time.monotonic() + within
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"still waiting after {within} s")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def serve_fake_puppet(fake: FakePuppet) -> AsyncIterator[str]:
    """Serve `fake` on 127.0.0.1 (a free port) and yield its endpoint, `host:port`."""
    server = Server([fake])
    await server.start("127.0.0.1", 0)
    port = server._server.sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        for _ in range(fake.streams_open):
            fake.end_event_stream()
        server.close()
        await server.wait_closed()
