"""The gateway's REST API (GeWe shape): POST JSON with `X-GEWE-TOKEN`, `{"ret": 200, "data": …}` back,
and what its refusals mean (logged out, throttled, not a member of the group)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

import httpx

from bot.chat.base import (
    ChatUnavailable,
    Image,
    LinkCard,
    MiniProgramCard,
    NotInChat,
    Outgoing,
    ReplyPart,
    Text,
)

log = logging.getLogger("bot.chat.gateway")

RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0)
"""Pauses between tries of one gateway call that failed on the way (network, 5xx)."""
_LOGGED_OUT_WORDS = ("未登录", "离线", "不在线", "掉线", "已退出", "not login", "offline", "not online")
_THROTTLED_WORDS = ("频繁", "限制", "too many", "too frequent", "rate limit")
_NOT_MEMBER_WORDS = ("不在该群", "不在群", "不是群成员", "非群成员", "not in the chatroom", "not a member")


class GatewayError(ChatUnavailable):
    """The gateway refused a call (`ret` other than 200), or could not be reached; the text says which."""

    def __init__(
        self,
        path: str,
        message: str,
        *,
        ret: int | None = None,
        status: int | None = None,
        not_api: str = "",
    ) -> None:
        super().__init__(f"gateway {path}: {message}" + (f" (ret {ret})" if ret is not None else ""))
        self.path = path
        self.ret = ret
        self.status = status
        """The HTTP status of an answer that was no API answer (a 5xx, a web page); None otherwise."""
        self.not_api = not_api
        """What came back instead of the API's JSON ("a web page (text/html)"), '' for a JSON answer."""
        lowered = message.lower()
        self.logged_out = any(word in lowered for word in _LOGGED_OUT_WORDS)
        self.throttled = ret == 429 or any(word in lowered for word in _THROTTLED_WORDS)
        self.unreachable = ret is None and status is None


class GatewayNotInGroup(GatewayError, NotInChat):
    """The gateway refused a send because the account is not in that group (「你不在该群聊中」)."""


def refusal(path: str, message: str, ret: int | None) -> GatewayError:
    lowered = message.lower()
    if any(word in lowered for word in _NOT_MEMBER_WORDS):
        return GatewayNotInGroup(path, message, ret=ret)
    return GatewayError(path, message, ret=ret)


class GatewayClient:
    """The gateway's REST API: POST JSON with `X-GEWE-TOKEN`, `{"ret": 200, "data": …}` back."""

    def __init__(
        self,
        base_url: str,
        token: str,
        app_id: str,
        *,
        timeout: float = 10.0,
        retry_delays: Iterable[float] = RETRY_DELAYS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.retry_delays = tuple(retry_delays)
        self._http = httpx.AsyncClient(
            timeout=timeout, headers={"X-GEWE-TOKEN": token}, transport=transport, trust_env=False
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    async def call(self, path: str, body: dict[str, Any] | None = None, *, retry: bool = True) -> Any:
        """One API call; returns `data`. Network errors and 5xx are tried again; a refusal is not."""
        payload = {"appId": self.app_id, **(body or {})}
        delays = self.retry_delays if retry else ()
        status: int | None = None
        for attempt in range(len(delays) + 1):
            try:
                response = await self._http.post(f"{self.base_url}{path}", json=payload)
            except httpx.HTTPError as exc:
                problem, status = f"unreachable ({type(exc).__name__})", None
            else:
                if response.status_code < 500:
                    return self._data(path, response)
                problem, status = f"HTTP {response.status_code}", response.status_code
            if attempt < len(delays):
                await asyncio.sleep(delays[attempt])
        raise GatewayError(path, problem, status=status)

    @staticmethod
    def _data(path: str, response: httpx.Response) -> Any:
        try:
            answer = response.json()
        except ValueError:
            kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
            what = f"a web page ({kind})" if "html" in kind else f"something else ({kind})"
            raise GatewayError(
                path,
                f"HTTP {response.status_code}, not JSON",
                ret=response.status_code,
                status=response.status_code,
                not_api=what,
            ) from None
        if not isinstance(answer, dict):
            raise GatewayError(path, "answer is not a JSON object", ret=response.status_code)
        ret = answer.get("ret")
        if ret != 200:
            message = str(answer.get("msg") or "refused")[:200]
            raise refusal(path, message, ret if isinstance(ret, int) else response.status_code)
        return answer.get("data")

    # -- the operations the bot uses ----------------------------------------------------------------

    async def is_online(self) -> bool:
        data = await self.call("/login/checkOnline", retry=False)
        return bool(data)

    async def set_callback(self, token: str, callback_url: str) -> None:
        await self.call("/tools/setCallback", {"token": token, "callbackUrl": callback_url}, retry=False)

    async def chatroom_ids(self) -> list[str]:
        """The group ids in the account's contacts (`/contacts/fetchContactsList` → `chatrooms`). GeWe
        lists only groups saved to the contacts; the others become known when someone there speaks."""
        data = await self.call("/contacts/fetchContactsList")
        rooms = data.get("chatrooms") if isinstance(data, dict) else None
        return [str(r) for r in rooms or [] if isinstance(r, str) and r.endswith("@chatroom")]

    async def room_info(self, room_id: str) -> dict[str, Any]:
        data = await self.call("/group/getChatroomInfo", {"chatroomId": room_id})
        return data if isinstance(data, dict) else {}

    async def send_part(self, message: Outgoing, part: ReplyPart) -> None:
        """One reply part to `message.chat_id`: text (with the @ of the asker), image by URL, link card,
        mini-program card."""
        to = message.chat_id
        if isinstance(part, Text):
            asker = message.reply_to
            body: dict[str, Any] = {"toWxid": to, "content": part.text}
            if part.mention_sender and asker is not None and asker.is_group and asker.sender_id:
                body["content"] = f"@{asker.sender_name}\u2005{part.text}"
                body["ats"] = asker.sender_id
            await self.call("/message/postText", body)
        elif isinstance(part, Image):
            if part.url:
                await self.call("/message/postImage", {"toWxid": to, "imgUrl": part.url})
            else:
                log.warning("image %s has no URL; gateways take images by URL: not sent", part.name)
            if part.caption:
                await self.call("/message/postText", {"toWxid": to, "content": part.caption})
        elif isinstance(part, LinkCard):
            await self.call(
                "/message/postLink",
                {
                    "toWxid": to,
                    "title": part.title,
                    "desc": part.description,
                    "linkUrl": part.url,
                    "thumbUrl": part.thumbnail_url,
                },
            )
        elif isinstance(part, MiniProgramCard):
            await self.call(
                "/message/postMiniApp",
                {
                    "toWxid": to,
                    "miniAppId": part.appid,
                    "displayName": part.description or part.title,
                    "pagePath": part.page_path,
                    "coverImgUrl": part.thumb_url,
                    "title": part.title,
                    "userName": part.username,
                },
            )
