"""The daily 外卖 push: each group's takeout (外卖红包) links at the times its owner chose
(`订阅 外卖 10:30`, several a day allowed), through the same claims and paced sender as every push.

A slot is one job per (group, time), `push:takeout:<account>:<group>:<HH:MM>`, beside the daily deals'
own; the push service's minute tick also catches up due takeout slots. A slot is claimed in the push log
(`takeout:<local date>T<HH:MM>`) only when its message is about to go: the links come from the group's
per-day cache (`bot.services.takeout`), so a day of slots costs one league call per group per league.
When no league gives a link, nothing is claimed and the next tick tries again (the slot is not lost);
past the grace window it is recorded as skipped, with why. When one league gives none, the other's
links go and the push result says which one was missing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.chat.base import Outgoing, Reply, ReplyPart, Text
from bot.push import claims
from bot.services.subscriptions import run_key
from bot.services.takeout import TakeoutLinks, takeout_cards
from bot.store import subscriptions
from bot.store.models import Group, Subscription

if TYPE_CHECKING:
    from bot.push.service import PushService

log = logging.getLogger(__name__)

KIND = "takeout"
JOB = "push:takeout"


def takeout_slot_key(slot: datetime, zone: ZoneInfo) -> str:
    return "takeout:" + slot.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


class TakeoutPush:
    """The 外卖 slots of one push service's account."""

    def __init__(self, service: PushService, links: TakeoutLinks) -> None:
        self.service = service
        self.links = links
        self._lock = asyncio.Lock()
        self.trouble: dict[tuple[int, str], str] = {}
        """(group id, slot) → why its links could not be fetched yet (said when the slot is given up)."""

    @property
    def prefix(self) -> str:
        return self.service.job_id(JOB) + ":"

    async def refresh_jobs(self) -> None:
        rows = await asyncio.to_thread(subscriptions.active, self.service.engine, KIND, self.service.account)
        self.rebuild_jobs(rows)

    def rebuild_jobs(self, rows: list[tuple[Subscription, Group]]) -> None:
        """One cron job per 外卖 slot; a job whose slot is gone is removed."""
        jobs, service = self.service.jobs, self.service
        if jobs is None:
            return
        wanted: set[str] = set()
        for sub, group in rows:
            if not service.serves(group):
                continue
            hour, minute = (int(x) for x in sub.at_time.split(":"))
            job_id = f"{self.prefix}{sub.group_id}:{sub.at_time}"
            wanted.add(job_id)
            jobs.add(
                job_id,
                CronTrigger(hour=hour, minute=minute, timezone=service.zone),
                self.tick,
                kind=JOB,
                account=service.label,
                what=f"「外卖红包」推送到「{group.name or group.room_id}」/ takeout links",
                kwargs={"group_id": sub.group_id, "at_time": sub.at_time},
            )
        for job_id in jobs.ids(self.prefix):
            if job_id not in wanted:
                jobs.remove(job_id)

    def next_runs(self, now: datetime) -> dict[tuple[int, str], datetime]:
        """(group id, `run_key("takeout", HH:MM)`) → when that 外卖 slot next fires, for 订阅状态:
        computed as the cron job fires, for the slots this service's account pushes (reads the store)."""
        from bot.push.slots import next_slot

        service = self.service
        return {
            (sub.group_id, run_key(KIND, sub.at_time)): next_slot(sub.at_time, now, service.zone)
            for sub, group in subscriptions.active(service.engine, KIND, service.account)
            if service.serves(group)
        }

    def unschedule(self) -> None:
        if self.service.jobs is not None:
            for job_id in self.service.jobs.ids(self.prefix):
                self.service.jobs.remove(job_id)

    async def tick(
        self, now: datetime | None = None, group_id: int | None = None, at_time: str | None = None
    ) -> int:
        """Push every 外卖 slot that is due and not yet in the push log (of one group's slot, or all);
        returns how many were queued."""
        from bot.push.slots import latest_slot

        service = self.service
        now = now or service.clock()
        grace = timedelta(hours=service.push.grace_hours)
        queued = 0
        async with self._lock:
            rows = await asyncio.to_thread(subscriptions.active, service.engine, KIND, service.account)
            for sub, group in rows:
                assert group.id is not None
                if (group_id is not None and group.id != group_id) or not service.serves(group):
                    continue
                if at_time is not None and sub.at_time != at_time:
                    continue
                slot_time = latest_slot(sub.at_time, now, service.zone)
                if slot_time < sub.updated_at:
                    continue  # subscribed after today's time: the first push is the next one
                slot = takeout_slot_key(slot_time, service.zone)
                key = (group.id, slot)
                if key in service._queued or await asyncio.to_thread(
                    claims.exists, service.engine, group.id, slot
                ):
                    continue
                if now - slot_time > grace:
                    why = f"missed by {now - slot_time}: too late to send"
                    if key in self.trouble:
                        why += f"；外卖链接一直没取到：{self.trouble.pop(key)}"
                    await asyncio.to_thread(
                        claims.claim, service.engine, group.id, slot, service.owner, claims.SKIPPED, why
                    )
                    log.info("skipped %s for %s: %s", slot, group.name, why)
                    continue
                if await self._send(group, slot, slot_time):
                    queued += 1
        return queued

    async def _send(self, group: Group, slot: str, slot_time: datetime) -> bool:
        assert group.id is not None
        service = self.service
        answer = await self.links.for_group(group, deadline=service.push.league_budget_seconds)
        if not answer.links:
            # nothing claimed: the next tick (a minute on) tries again, until the grace window ends
            self.trouble[(group.id, slot)] = answer.note or "没有可用的外卖联盟"
            log.warning("takeout links for %s not ready (%s); next tick tries again", group.name, answer.note)
            return False
        self.trouble.pop((group.id, slot), None)
        text = await service.renderer.render_async(
            "takeout_push",
            {**answer.context(), "group_name": group.name, "date": slot_time},
            group=group.room_id,
        )
        parts: list[ReplyPart] = [Text(text), *takeout_cards(answer.links)]
        if answer.note:  # the enqueue that follows takes it into the push result
            service.notes[group.id] = answer.note
        service.enqueue(group.id, slot, Outgoing(group.room_id, Reply(tuple(parts))), [])
        return True
