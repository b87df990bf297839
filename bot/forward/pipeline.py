"""The 线报 delivery pipeline: a source message in, at most one forward per target group out, paced.

    intake ──► bounded queue ──► worker ──► per target group: cap, claim, paced sender
      │ (full: dropped, and said)   │
      └ every message gets a row     └ block words, quiet hours, prepare (every link), dedupe

- **Intake** (`intake`) takes a message from a source room or a source sender that carries a link or
  口令, records it in the forward log (one row per source message: its id is the forward id) and puts it
  on a bounded queue. A full queue drops the message *with a row saying so* (and a count): a flooding
  source costs its own excess, never the bot's memory. Our own forward coming back (a target that is also
  a source) is recorded as dropped and never forwarded again (`Echoes`).
- **The worker** decides each message once, in this order: block words → quiet hours (hold until they
  end, or drop: `quiet_mode`) → `Remaker.prepare` (every link resolved; one that cannot be drops the whole
  message; a league slow or down is retried until `max_delay_minutes`, then dropped) → the target groups →
  dedupe (every product's key taken in the store for `dedupe_hours`, all or none, so five sources posting
  one deal forward it once, even from two processes) → per group.
- **Per group**: the group's `max_per_hour` (forwards claimed in the last hour, any process) → the
  message remade with the group's own links (`Remaker.for_group`) → a reservation of (group,
  "forward:<id>") in the push log → the account's paced sender, in the forwards' own line
  (`PacedSender.forward`: a fifth of the sends while replies or pushes wait, everything when nothing else
  does — members' answers and the daily pushes are never starved). When the send reaches the front of the
  queue its reservation becomes "sending"; a restart gives back reservations never begun
  (`reopen_unsent`: those groups get it on the next pass, within the delay) and marks those begun as
  interrupted (never resent), so nothing is sent twice.
- **The forward job** (`tick`, on the one job list as `forward`) puts back on the queue what is due: held
  messages once the quiet hours end, retries, and messages a stopped process had queued.

Every store call runs in a worker thread; the clock is injectable (tests drive quiet hours and delays).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine

from bot.chat.base import Incoming, Outgoing, Reply
from bot.config import ForwardSettings
from bot.forward.remake import Prepared, Remade
from bot.forward.rules import HOUR, QuietHours, blocked_word, dedupe_keys
from bot.forward.targets import Echoes, Targets
from bot.push import claims
from bot.push.sender import PacedSender
from bot.reasons import reason as why_failed
from bot.store import forward as store
from bot.store.models import Group

log = logging.getLogger(__name__)

QUEUE_SIZE = 200
"""Source messages waiting for the worker at most; beyond, a message is dropped (and recorded so)."""
RETRY_SECONDS = 60
"""How soon a message whose league was slow or down is tried again (within `max_delay_minutes`)."""
GROUP_CONCURRENCY = 8
"""Target groups remade at once (each may make a link on a league the first time)."""

STOPPING = "\x00stopping\x00"
"""A group's outcome when the account's sender closed under it (the bot is stopping)."""
QUEUE_FULL = "转发队列已满（来源发得太快），这条没有排上"
ECHO = "这是我们自己转发出去的线报，不再转发"
NO_TARGETS = "没有目标群：在 [forward] targets 里写群 ID，或让群主发「订阅 线报」"


class SenderClosed(Exception):
    """The account's sender takes no more work: the bot is stopping."""


def _now() -> datetime:
    return datetime.now(UTC)


class Remakes(Protocol):
    """What the pipeline needs of `bot.forward.remake.Remaker` (tests give a fake)."""

    async def prepare(self, text: str) -> Prepared: ...

    async def for_group(self, prepared: Prepared, group: Group) -> Remade: ...


@dataclass(frozen=True)
class Job:
    """A forward-log row on its way through the worker."""

    forward_id: int
    text: str
    source_room: str
    received_at: datetime


@dataclass
class Figures:
    """What this process's pipeline did since it started (the console and the bench read them)."""

    taken: int = 0
    queue_full: int = 0
    echoes: int = 0
    forwarded: int = 0
    dropped: int = 0
    held: int = 0
    queued_sends: int = 0


class Pipeline:
    """One per process, over every chat account it serves (`senders`: account → its paced sender)."""

    def __init__(
        self,
        engine: Engine,
        settings: ForwardSettings,
        remaker: Remakes,
        senders: Mapping[str, PacedSender],
        *,
        targets: Targets | None = None,
        timezone: str = "Asia/Shanghai",
        owner: str = "",
        worth: Callable[[str], bool] = lambda text: bool(text.strip()),
        clock: Callable[[], datetime] = _now,
        queue_size: int = QUEUE_SIZE,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        """`worth(text)`: the message may carry a link or 口令 (the composition passes the link finder's
        answer), so chatter in a source group is neither recorded nor forwarded. `owner`: who claims
        in the push log; a restart recognises what it left half done by its prefix (`instance`)."""
        self.engine = engine
        self.settings = settings
        self.remaker = remaker
        self.senders = dict(senders)
        self.targets = targets or Targets(engine, settings.targets)
        self.quiet = QuietHours.parse(settings.quiet_hours, timezone)
        self.instance = owner or "forward"
        self.owner = f"{self.instance}/{os.getpid()}"
        self.worth = worth
        self.clock = clock
        self.queue_size = queue_size
        self.retry = timedelta(seconds=retry_seconds)
        self.sources = frozenset(settings.sources)
        self.scope = "+".join(sorted(self.senders))
        """Whose dedupe memory this is: the accounts served. Two processes serving other accounts each
        forward a deal once to their own groups; replicas of one account share one memory."""
        self.echoes = Echoes()
        self.figures = Figures()
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._waiting = 0
        """Messages on the queue or being recorded for it: the bound counts both."""
        self._open: set[int] = set()
        """Forward ids on the queue or in the worker: the job does not put them on again."""
        self._worker: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Future[bool]] = set()

    # -- intake ------------------------------------------------------------------------------------

    def is_source(self, message: Incoming) -> bool:
        return message.chat_id in self.sources or (message.is_group and message.sender_id in self.sources)

    async def intake(self, message: Incoming) -> bool:
        """True when the message is forwarding's (a source message with a link): recorded, and queued
        unless the queue is full or it is our own forward coming back. Other messages are not touched."""
        if not self.settings.enabled or not self.is_source(message) or not self.worth(message.text):
            return False
        heard = store.Heard(
            account=message.account,
            source_room=message.chat_id,
            source_name=message.chat_name,
            sender_id=message.sender_id,
            message_id=message.message_id,
            text=message.text,
        )
        now = self.clock()
        if message.from_self or self.echoes.is_echo(message.text):
            self.figures.echoes += 1
            await asyncio.to_thread(
                store.record, self.engine, heard, status=store.DROPPED, reason=ECHO, now=now
            )
            return True
        if self._waiting >= self.queue_size:
            self.figures.queue_full += 1
            log.warning(
                "forward queue full (%d waiting): a message from %s dropped", self._waiting, message.chat_id
            )
            await asyncio.to_thread(
                store.record, self.engine, heard, status=store.DROPPED, reason=QUEUE_FULL, now=now
            )
            return True
        self._waiting += 1
        try:
            forward_id = await asyncio.to_thread(store.record, self.engine, heard, now=now)
        except BaseException:
            self._waiting -= 1
            raise
        if forward_id is None:  # delivered twice: the first delivery has it
            self._waiting -= 1
            return True
        self.figures.taken += 1
        self._put(Job(forward_id, message.text, message.chat_id, now))
        return True

    def _put(self, job: Job) -> None:
        self._open.add(job.forward_id)
        self._queue.put_nowait(job)

    @property
    def waiting(self) -> int:
        return self._waiting

    @property
    def sends_pending(self) -> int:
        """Forwards handed to the senders and not yet sent (or refused)."""
        return len(self._sends)

    # -- running -----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Take back what a stopped process of ours left (before anything of ours is claimed), then
        start the worker; the job (`tick`) picks up what is due."""
        reopened = await asyncio.to_thread(store.reopen_unsent, self.engine, self.instance + "/")
        interrupted = await asyncio.to_thread(claims.recover_interrupted, self.engine, self.instance + "/")
        if reopened:
            log.info("forwards reopened for the groups a stopped process had not reached: %s", reopened)
        for row in interrupted:
            log.warning(
                "forward %s to group %s was mid-send when the bot stopped: not resent", row.slot, row.group_id
            )
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._work(), name="forward-worker")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    async def tick(self) -> None:
        """The forward job: put back on the queue every open message whose time has come."""
        rows = await asyncio.to_thread(store.due, self.engine, self.clock(), None)
        mine = set(self.senders) | {""}
        for row in rows:
            if row.id is None or row.id in self._open or (row.account not in mine and self.senders):
                continue
            if self._waiting >= self.queue_size:
                break  # the rest stays in the store for the next tick
            self._waiting += 1
            self._put(Job(row.id, row.body, row.source_room, row.received_at))

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            self._waiting -= 1
            try:
                await self.handle(job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one bad message never stops the pipeline
                log.exception("forward %s failed", job.forward_id)
                await self._settle(job, store.DROPPED, f"出错了：{why_failed(exc)}")
            finally:
                self._open.discard(job.forward_id)
                self._queue.task_done()

    async def drained(self) -> None:
        """Until every message queued so far is decided (tests and the bench wait on it)."""
        await self._queue.join()

    # -- deciding ----------------------------------------------------------------------------------

    def _deadline(self, job: Job) -> datetime:
        """When a message must have gone by: `max_delay_minutes` after it arrived, or after the quiet
        hours that held it ended."""
        start = job.received_at
        if self.quiet is not None and self.settings.quiet_mode == "hold" and self.quiet.covers(start):
            start = self.quiet.ends_after(start)
        return start + timedelta(minutes=self.settings.max_delay_minutes)

    async def handle(self, job: Job) -> None:
        """Decide one message (see the module docstring for the order)."""
        settings, now = self.settings, self.clock()
        word = blocked_word(job.text, settings.block_words)
        if word is not None:
            await self._settle(job, store.DROPPED, f"含屏蔽词「{word}」")
            return
        if self.quiet is not None and self.quiet.covers(now):
            if settings.quiet_mode == "drop":
                await self._settle(
                    job, store.DROPPED, f"免打扰时段（{settings.quiet_hours}）收到，按设置丢弃"
                )
                return
            until = self.quiet.ends_after(now)
            self.figures.held += 1
            await self._settle(
                job, store.HELD, f"免打扰时段（{settings.quiet_hours}），结束后再发", next_try_at=until
            )
            return
        deadline = self._deadline(job)
        prepared = await self.remaker.prepare(job.text)
        if prepared.reason is not None:
            await self._not_now(job, prepared.reason, transient=prepared.transient, deadline=deadline)
            return
        groups = await asyncio.to_thread(self.targets.groups, besides=job.source_room)
        groups = [g for g in groups if self._sender_of(g) is not None]
        if not groups:
            await self._settle(job, store.DROPPED, NO_TARGETS)
            return
        keys = dedupe_keys(prepared.items)
        since = now - timedelta(hours=settings.dedupe_hours)
        scoped = [f"{self.scope}|{key}" for key in keys]
        taken = await asyncio.to_thread(store.take_keys, self.engine, scoped, job.forward_id, since, now)
        if taken:
            first = taken[0]
            key = first.key.rpartition("|")[2]
            await self._settle(
                job,
                store.DROPPED,
                f"重复：{key} 在 {settings.dedupe_hours} 小时内已经转发过（#{first.forward_id}）",
                keys=keys,
            )
            return
        await self._to_groups(job, prepared, groups, keys, deadline)

    async def _not_now(self, job: Job, reason: str, *, transient: bool, deadline: datetime) -> None:
        """A message that cannot go now: retried while its league may come back in time, else dropped."""
        now = self.clock()
        if transient and now + self.retry < deadline:
            await self._settle(job, store.QUEUED, f"{reason}（稍后重试）", next_try_at=now + self.retry)
            return
        if transient:
            reason = f"{reason}；{self.settings.max_delay_minutes} 分钟内没能转换，放弃"
        await self._settle(job, store.DROPPED, reason)

    async def _to_groups(
        self, job: Job, prepared: Prepared, groups: list[Group], keys: Iterable[str], deadline: datetime
    ) -> None:
        settings, now = self.settings, self.clock()
        ids = [g.id for g in groups if g.id is not None]
        done = await asyncio.to_thread(store.groups_done, self.engine, job.forward_id)
        lately = await asyncio.to_thread(store.sent_lately, self.engine, ids, now - HOUR)
        slot = store.slot_of(job.forward_id)
        gate = asyncio.Semaphore(GROUP_CONCURRENCY)
        late = now >= deadline

        async def one(group: Group) -> str:
            """ "queued", "retry" or the reason this group does not get it."""
            assert group.id is not None
            if late:
                return f"超过 {settings.max_delay_minutes} 分钟没能发出，放弃"
            if lately.get(group.id, 0) >= settings.max_per_hour:
                return f"这个群这一小时已经收到 {settings.max_per_hour} 条线报（每小时上限）"
            async with gate:
                remade = await self.remaker.for_group(prepared, group)
            if not remade.forward:
                if remade.transient and self.clock() + self.retry < deadline:
                    return "retry"
                return remade.reason or "这个群的链接没有转成功"
            if not await asyncio.to_thread(claims.reserve, self.engine, group.id, slot, self.owner):
                return "queued"  # another process has it
            try:
                self._send(group, slot, remade.text, [swap.target for swap in remade.links], job.forward_id)
            except SenderClosed:  # the bot is stopping: the next start sends it (within the delay)
                await asyncio.to_thread(claims.unreserve, self.engine, group.id, slot, self.owner)
                return STOPPING
            return "queued"

        todo = [g for g in groups if g.id not in done]
        outcomes = await asyncio.gather(*(one(g) for g in todo))
        skipped = [
            (g, why)
            for g, why in zip(todo, outcomes, strict=True)
            if why not in ("queued", "retry", STOPPING)
        ]
        for group, why in skipped:
            assert group.id is not None
            await asyncio.to_thread(
                claims.claim, self.engine, group.id, slot, self.owner, claims.SKIPPED, why
            )
        queued = sum(1 for why in outcomes if why == "queued") + sum(
            1 for status in done.values() if status not in (claims.SKIPPED, claims.FAILED)
        )
        retry = any(why == "retry" for why in outcomes)
        if STOPPING in outcomes:
            what = f"{queued} 个群已排队，机器人停了，其余的群重启后再发"
            await self._settle(job, store.QUEUED, what, keys=keys)
        elif retry:
            what = f"{queued} 个群已排队，其余的群联盟暂时没响应（稍后重试）"
            await self._settle(job, store.QUEUED, what, keys=keys, next_try_at=self.clock() + self.retry)
        elif queued:
            await self._settle(job, store.FORWARDED, "", keys=keys)
        else:
            reasons = sorted({why for _g, why in skipped})
            await asyncio.to_thread(store.release_keys, self.engine, job.forward_id)
            await self._settle(job, store.DROPPED, "；".join(reasons) or "没有群收到", keys=keys)

    def _sender_of(self, group: Group) -> PacedSender | None:
        """The sender of the account that serves the group; a group no account has adopted yet goes
        through the first. A group another process's account serves is not ours to send."""
        if group.account in self.senders:
            return self.senders[group.account]
        if not group.account and self.senders:
            return next(iter(self.senders.values()))
        return None

    def _send(self, group: Group, slot: str, text: str, links: list[str], forward_id: int) -> None:
        sender = self._sender_of(group)
        assert sender is not None and group.id is not None
        group_id, engine, owner = group.id, self.engine, self.owner
        self.echoes.remember(text, links)

        async def start() -> bool:
            batch = [claims.Ahead(group_id, slot, reserved=True)]
            won = await asyncio.to_thread(claims.claim_batch, engine, batch, owner)
            return (group_id, slot) in won

        async def done(sent: bool, detail: str) -> None:
            status = claims.SENT if sent else claims.FAILED
            await asyncio.to_thread(claims.mark, engine, group_id, slot, status, detail=detail)
            if sent:
                self.figures.forwarded += 1
                await asyncio.to_thread(store.add_groups, engine, forward_id, 1)

        try:
            future = sender.forward(Outgoing(group.room_id, Reply.text(text)), start=start, done=done)
        except RuntimeError as exc:  # "sender is closed"
            raise SenderClosed from exc
        self.figures.queued_sends += 1
        self._sends.add(future)
        future.add_done_callback(self._sends.discard)

    async def _settle(
        self,
        job: Job,
        status: str,
        reason: str,
        *,
        keys: Iterable[str] | None = None,
        next_try_at: datetime | None = None,
    ) -> None:
        if status == store.DROPPED:
            self.figures.dropped += 1
            log.info("forward %s dropped: %s", job.forward_id, reason)
        await asyncio.to_thread(
            store.settle,
            self.engine,
            job.forward_id,
            status,
            reason=reason,
            keys=list(keys) if keys is not None else None,
            next_try_at=next_try_at,
        )


Route = Callable[[Incoming], Awaitable[Reply | None]]


class Tap:
    """Forwarding's intake in front of the router: a message from a `[forward] sources` room or sender
    that forwarding takes (it carries a link or 口令) is forwarding's and never answered — the bot listens
    in a 线报 group, it does not reply to the deals posted there; anything else goes on to the router.

    The pipeline is built after the leagues (`serve`); a source message that comes before waits for it,
    like a deal request waits for the deals handler."""

    def __init__(self, route: Route, sources: Iterable[str]) -> None:
        self.route = route
        self.sources = frozenset(sources)
        self.pipeline: Pipeline | None = None
        self._ready = asyncio.Event()

    def serve(self, pipeline: Pipeline | None) -> None:
        self.pipeline = pipeline
        self._ready.set()

    async def __call__(self, message: Incoming) -> Reply | None:
        if message.chat_id in self.sources or message.sender_id in self.sources:
            await self._ready.wait()
            if self.pipeline is not None and await self.pipeline.intake(message):
                return None
        return await self.route(message)
