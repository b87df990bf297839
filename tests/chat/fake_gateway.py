"""A fake iPad-protocol gateway in the GeWe shape (shared/reference/wechat-gateways.md), over real HTTP.

REST in: POST JSON with `X-GEWE-TOKEN` and `appId`, answered `{"ret": 200, "msg": "操作成功", "data": …}`
or a non-200 `ret` with `msg`. Webhook out: `deliver()` POSTs an `AddMsg` body to the callback URL the
bot registered through `/tools/setCallback` (which, like GeWe, first sends a test message to it).

What it cannot check: the real gateway's exact error codes and wording, media upload limits, how it
retries a callback that failed, and the XML of every card and system message kind.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.chat.fake_http import wait_until

SEND_PATHS = ("/message/postText", "/message/postImage", "/message/postLink", "/message/postMiniApp")


@dataclass
class Sent:
    path: str
    to: str
    body: dict[str, Any]

    @property
    def content(self) -> str:
        return str(self.body.get("content", ""))

    @property
    def ats(self) -> str:
        return str(self.body.get("ats", ""))


@dataclass
class FakeRoom:
    room_id: str
    name: str
    owner: str
    members: dict[str, str] = field(default_factory=dict)
    """wxid → display name."""
    saved: bool = True
    """Saved to the account's contacts: only such groups are in `/contacts/fetchContactsList` (GeWe's
    documented limit; the others become known when someone there speaks)."""
    gone: bool = False
    """Still in the contacts list, but `/group/getChatroomInfo` no longer knows it (dissolved, left)."""


class FakeGateway:
    def __init__(self, *, token: str, app_id: str, bot_wxid: str, bot_name: str) -> None:
        self.token = token
        self.app_id = app_id
        self.bot_wxid = bot_wxid
        self.bot_name = bot_name
        self.online = True
        self.login_confirmed = False
        """checkLogin says 'logged in' once this is set (the operator scanned the QR code)."""
        self.down = False
        self.refused_while_down = 0
        """Calls answered 503 while `down`: how often the bot tried a gateway that was away."""
        """Every call answered HTTP 503, as a gateway being restarted."""
        self.refusal = ""
        """When set, every send is refused with this `msg` (e.g. 操作过于频繁)."""
        self.rooms: dict[str, FakeRoom] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[Sent] = []
        self.contacts_refusal = ""
        """When set, `/contacts/fetchContactsList` is refused with this `msg`."""
        self.friends: list[str] = []
        self.callback_url = ""
        self.callback_tests = 0
        self.gives_app_id = False
        """A first login: `/login/getLoginQrCode` with an empty appId answers with this account's
        appId (GeWe makes a new device and returns its appId with the QR code)."""
        self._ids = itertools.count(7_000_000_000_000_000_001)
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])

    def add_room(
        self, room_id: str, name: str, owner: str, members: dict[str, str], *, saved: bool = True
    ) -> FakeRoom:
        room = FakeRoom(room_id, name, owner, {self.bot_wxid: self.bot_name, **members}, saved)
        self.rooms[room_id] = room
        return room

    # -- the REST API --------------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        if self.down:
            self.refused_while_down += 1
            return Response("gateway restarting", status_code=503)
        path = ("/" + request.path_params["path"]).removeprefix("/v2/api")
        body = await request.json()
        self.calls.append((path, body))
        if request.headers.get("X-GEWE-TOKEN") != self.token:
            return JSONResponse({"ret": 500, "msg": "X-GEWE-TOKEN 无效"})
        if path == "/login/getLoginQrCode" and body.get("appId") == "" and self.gives_app_id:
            answer = await self._answer(path, body)
            return JSONResponse(answer | {"data": answer["data"] | {"appId": self.app_id}})
        if body.get("appId") != self.app_id:
            return JSONResponse({"ret": 500, "msg": "appId 不存在"})
        return JSONResponse(await self._answer(path, body))

    async def _answer(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        ok = {"ret": 200, "msg": "操作成功"}
        if path == "/login/checkOnline":
            return ok | {"data": self.online}
        if path == "/login/getLoginQrCode":
            return ok | {
                "data": {"qrData": "http://weixin.qq.com/x/fake-login", "qrImgBase64": "", "uuid": "uuid-1"}
            }
        if path == "/login/checkLogin":
            if self.login_confirmed:
                self.online = True
                info = {"wxid": self.bot_wxid, "nickName": self.bot_name}
                return ok | {"data": {"uuid": body.get("uuid"), "status": 2, "loginInfo": info}}
            return ok | {"data": {"uuid": body.get("uuid"), "status": 0, "expiredTime": 200}}
        if path == "/tools/setCallback":
            url = str(body.get("callbackUrl") or "")
            try:
                async with httpx.AsyncClient(timeout=5, verify=False) as client:
                    answer = await client.post(
                        url, json={"testMsg": "回调地址链接成功！", "token": self.token}
                    )
            except httpx.HTTPError:
                return {"ret": 500, "msg": "回调地址无法访问"}
            if answer.status_code != 200:
                return {"ret": 500, "msg": f"回调地址返回 {answer.status_code}"}
            self.callback_tests += 1
            self.callback_url = url
            return ok
        if path == "/contacts/fetchContactsList":
            if self.contacts_refusal:
                return {"ret": 500, "msg": self.contacts_refusal}
            rooms = [r.room_id for r in self.rooms.values() if r.saved]
            return ok | {
                "data": {"friends": list(self.friends), "chatrooms": rooms, "ghs": ["gh_7aac992b0363"]}
            }
        if path == "/group/getChatroomInfo":
            room = self.rooms.get(str(body.get("chatroomId")))
            if room is None or room.gone:
                return {"ret": 500, "msg": "群聊不存在"}
            members = [{"wxid": w, "nickName": n, "displayName": n} for w, n in room.members.items()]
            return ok | {
                "data": {
                    "chatroomId": room.room_id,
                    "nickName": room.name,
                    "chatRoomOwner": room.owner,
                    "memberList": members,
                }
            }
        if path in SEND_PATHS:
            if not self.online:
                return {"ret": 500, "msg": "微信已离线，请重新登录"}
            if self.refusal:
                return {"ret": 500, "msg": self.refusal}
            to = str(body.get("toWxid") or "")
            self.sent.append(Sent(path, to, body))
            new_id = next(self._ids)
            return ok | {
                "data": {
                    "msgId": new_id % 10**9,
                    "newMsgId": new_id,
                    "createTime": int(time.time()),
                    "toWxid": to,
                }
            }
        return {"ret": 404, "msg": f"未知接口 {path}"}

    # -- the webhook side ----------------------------------------------------------------------------

    def text(
        self,
        text: str,
        *,
        sender: str,
        room: str = "",
        mention: bool = True,
        new_msg_id: int | None = None,
        msg_type: int = 1,
    ) -> dict[str, Any]:
        """An `AddMsg` callback body: `sender` says `text` in `room` (or privately when room is '')."""
        new_msg_id = new_msg_id or next(self._ids)
        if room:
            name = self.rooms[room].members.get(sender, sender)
            if mention and msg_type == 1:
                text = f"@{self.bot_name}\u2005{text}"
            content, source_box, push = f"{sender}:\n{text}", room, f"{name}在群聊中@了你"
            at = self.bot_wxid if mention else ""
        else:
            content, source_box, push, at = text, sender, f"{sender} : {text}", ""
        return {
            "TypeName": "AddMsg",
            "Appid": self.app_id,
            "Wxid": self.bot_wxid,
            "Data": {
                "MsgId": new_msg_id % 10**9,
                "NewMsgId": new_msg_id,
                "FromUserName": {"string": source_box},
                "ToUserName": {"string": self.bot_wxid},
                "MsgType": msg_type,
                "Content": {"string": content},
                "Status": 3,
                "ImgStatus": 1,
                "CreateTime": int(time.time()),
                "MsgSource": f"<msgsource><atuserlist><![CDATA[{at}]]></atuserlist><membercount>3</membercount></msgsource>",
                "PushContent": push,
            },
        }

    def joined(self, room: str, inviter: str, member_wxid: str, member_name: str) -> dict[str, Any]:
        """The system message a group shows when `inviter` adds a member (who is then in the room)."""
        self.rooms[room].members[member_wxid] = member_name
        inviter_name = self.rooms[room].members.get(inviter, inviter)
        body = self.text("", sender="", room=room, mention=False, msg_type=10000)
        body["Data"]["Content"] = {"string": f'"{inviter_name}"邀请"{member_name}"加入了群聊'}
        body["Data"]["MsgSource"] = ""
        return body

    async def deliver(
        self, payload: Any, *, secret: str | None = None, raw: bytes | None = None
    ) -> httpx.Response:
        """POST a callback to the bot as the gateway does (to the registered URL, or with another secret)."""
        assert self.callback_url, "the bot has not registered its callback yet"
        url = self.callback_url
        if secret is not None:
            url = httpx.URL(url).copy_set_param("secret", secret).__str__()
        # plain HTTP on loopback: no TLS context to build (that alone costs ~70 ms of CPU a client)
        async with httpx.AsyncClient(timeout=10, verify=False) as client:
            if raw is not None:
                return await client.post(url, content=raw, headers={"Content-Type": "application/json"})
            return await client.post(url, json=payload)

    async def wait_sent(self, count: int, within: float = 15.0) -> list[Sent]:
        await wait_until(lambda: len(self.sent) >= count, within)
        return self.sent


def one_gateway_for(*fakes: FakeGateway) -> Starlette:
    """One gateway serving several accounts (GeWe: one API root, an appId per logged-in device): each
    call goes to the account its body's `appId` names (an unknown one to the first, which refuses it)."""
    by_app_id = {fake.app_id: fake for fake in fakes}

    async def handle(request: Request) -> Response:
        try:
            body = await request.json()  # Starlette keeps the body: the account's handler reads it again
        except ValueError:
            body = {}
        app_id = str(body.get("appId") if isinstance(body, dict) else "")
        # a first login (no appId yet) reaches the account that hands one out
        first_login = next((fake for fake in fakes if fake.gives_app_id), fakes[0]) if not app_id else None
        return await (by_app_id.get(app_id) or first_login or fakes[0])._handle(request)

    return Starlette(routes=[Route("/{path:path}", handle, methods=["POST"])])
