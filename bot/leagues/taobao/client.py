"""The TOP gateway client: one form-encoded POST per call to the configured gateway URL.

System params (`method`, `app_key`, `timestamp` in GMT+8, `format=json`, `v=2.0`, `sign_method`, and
`session` when set) and business params go flat in one form, signed over both (`signing`). Transport
trouble (timeouts, 5xx, malformed JSON, `isp.*`) and throttling (code 7, `*-limit` sub_codes) are
retried with exponential backoff and jitter; what outlasts the retries is `RetriesExhausted` /
`Throttled`, both `LeagueUnavailable`. Everything else in the error envelope is mapped once by
`errors.classify`. Methods return the inner `*_response` object (wire names); `mapping` reads them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

from bot.leagues.form_gateway import FormGatewayClient, Transient
from bot.leagues.taobao.errors import RetriesExhausted, Throttled, TopFault, classify
from bot.leagues.taobao.signing import SignMethod, sign
from bot.reasons import reason

Json = dict[str, Any]
GMT8 = timezone(timedelta(hours=8))

SEARCH = "taobao.tbk.dg.material.optional.upgrade"
SEARCH_LEGACY = "taobao.tbk.dg.material.optional"
ITEM_INFO = "taobao.tbk.item.info.upgrade.get"
ITEM_INFO_LEGACY = "taobao.tbk.item.info.get"
LINK_CONVERT = "taobao.tbk.dg.general.link.convert"
TPWD_CREATE = "taobao.tbk.tpwd.create"
ORDER_DETAILS = "taobao.tbk.order.details.get"
OPTIMUS = "taobao.tbk.dg.optimus.material"


def top_time(moment: datetime) -> str:
    """`yyyy-MM-dd HH:mm:ss` in GMT+8, as TOP wants every time (timestamps and order windows)."""
    return moment.astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S")


_GMT8_OFFSET = timedelta(hours=8)


def from_top_time(text: str) -> datetime | None:
    """`yyyy-MM-dd HH:mm:ss` in GMT+8 → UTC; None for anything else.

    An order sync reads two of these per order line, so the usual exact shape takes one C parse: the
    wall time read as if in UTC (`+00:00` gives the `UTC` singleton), less eight hours — the same
    instant, in a quarter of the time of parsing, shifting and re-zoning (`strptime`, a regex and a
    locale check per call, was a tenth of a sync)."""
    try:
        if len(text) == 19 and text[10] == " " and text[13] == ":" and text[16] == ":" and text.isascii():
            return datetime.fromisoformat(text + "+00:00") - _GMT8_OFFSET
        text = text.strip()
        if len(text) != 19 or text[10] != " " or not text.isascii():
            return None
        return (datetime.fromisoformat(text) - _GMT8_OFFSET).replace(tzinfo=UTC)
    except (ValueError, AttributeError, OverflowError, TypeError):
        return None


def response_key(method: str) -> str:
    """`taobao.tbk.tpwd.create` answers under `tbk_tpwd_create_response`."""
    return method.removeprefix("taobao.").replace(".", "_") + "_response"


class _Limited(Transient):
    """Throttled: retried like any transient fault, but `Throttled` once the tries run out."""


class TopClient(FormGatewayClient):
    league = "taobao"

    def __init__(
        self,
        url: str,
        app_key: str,
        app_secret: str,
        *,
        sign_method: SignMethod = "hmac-sha256",
        session: str = "",
        timeout: float = 8.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            url,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            clock=clock,
            sleep=sleep,
            transport=transport,
        )
        self.app_key = app_key
        self._secret = app_secret
        self._session = session
        self.sign_method: SignMethod = sign_method

    def __repr__(self) -> str:  # never the secret or the session
        return f"TopClient({self.url!r}, app_key={self.app_key!r}, sign_method={self.sign_method!r})"

    def exhausted(self, message: str) -> Exception:
        return RetriesExhausted(message)

    def gave_up(self, name: str, tries: int, fault: Exception) -> Exception:
        if isinstance(fault, _Limited):
            return Throttled(f"{name}: throttled after {tries} tries ({reason(fault)})")
        return super().gave_up(name, tries, fault)

    def signed_form(self, method: str, params: Mapping[str, object]) -> dict[str, str]:
        form = {
            "method": method,
            "app_key": self.app_key,
            "timestamp": top_time(datetime.fromtimestamp(self.clock(), UTC)),
            "format": "json",
            "v": "2.0",
            "sign_method": self.sign_method,
        }
        if self._session:
            form["session"] = self._session
        for name, value in params.items():
            if value is None or value == "":
                continue
            form[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        form["sign"] = sign(form, self._secret, self.sign_method)
        return form

    async def call(self, method: str, params: Mapping[str, object] | None = None) -> Json:
        """One TOP method; the inner response object, or the mapped error after retries."""
        return await self.post(
            method,
            lambda: self.signed_form(method, params or {}),
            lambda data: _inner(method, data),
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
        )

    # -- methods -----------------------------------------------------------------------------------

    async def material_search(
        self,
        *,
        adzone_id: str,
        q: str = "",
        page_no: int = 1,
        page_size: int = 20,
        legacy: bool = False,
        extra: Mapping[str, object] | None = None,
    ) -> Json:
        params: dict[str, object] = {
            "adzone_id": adzone_id,
            "q": q,
            "page_no": page_no,
            "page_size": page_size,
        }
        params.update(extra or {})
        return await self.call(SEARCH_LEGACY if legacy else SEARCH, params)

    async def optimus(self, *, adzone_id: str, material_id: str, page_size: int = 20) -> Json:
        """物料精选: an official material list (no keyword), for pushes without a category."""
        return await self.call(
            OPTIMUS,
            {"adzone_id": adzone_id, "material_id": material_id, "page_no": 1, "page_size": page_size},
        )

    async def item_info(self, item_ids: list[str], *, legacy: bool = False) -> Json:
        if legacy:
            return await self.call(ITEM_INFO_LEGACY, {"num_iids": ",".join(item_ids), "platform": 2})
        return await self.call(ITEM_INFO, {"item_id": ",".join(item_ids)})

    async def link_convert(
        self,
        *,
        adzone_id: str,
        site_id: str = "",
        material: str = "",
        item_id: str = "",
        extra: Mapping[str, object] | None = None,
    ) -> Json:
        """万能转链: a pasted link or 淘口令 (`material`) or a known item id, for one adzone."""
        params: dict[str, object] = {"adzone_id": adzone_id, "site_id": site_id, "biz_scene_id": 1}
        if material:
            params["material_list"] = material
        if item_id:
            params["item_id_list"] = item_id
        params.update(extra or {})
        return await self.call(LINK_CONVERT, params)

    async def tpwd_create(self, url: str, text: str = "") -> Json:
        return await self.call(TPWD_CREATE, {"url": url, "text": text})

    async def order_details(
        self,
        start: datetime,
        end: datetime,
        *,
        query_type: int = 4,
        page_no: int = 1,
        page_size: int = 100,
        position_index: str = "",
        jump_type: int = 1,
    ) -> Json:
        return await self.call(
            ORDER_DETAILS,
            {
                "start_time": top_time(start),
                "end_time": top_time(end),
                "query_type": query_type,
                "page_no": page_no,
                "page_size": page_size,
                "position_index": position_index,
                "jump_type": jump_type,
            },
        )


def _inner(method: str, data: Json) -> Json:
    """The `*_response` object of an answer; a fault in the error envelope raised (or retried)."""
    if "error_response" in data:
        fault = TopFault.of(data["error_response"] or {})
        if fault.throttled:
            raise _Limited(str(fault))
        if fault.transient:
            raise Transient(str(fault))
        raise classify(method, fault)
    body = data.get(response_key(method))
    if body is None:  # some gateways answer under another *_response key
        body = next((v for k, v in data.items() if k.endswith("_response")), None)
    if not isinstance(body, dict):
        raise Transient("no response object")
    return body
