"""`Leases`: which chat accounts this replica serves, asked before every send.

A heartbeat every third of `[cluster] lease_seconds` renews the leases this replica holds and takes
free or expired ones up to its fair share (`bot.cluster.rows`, one transaction, the database's clock).
Another replica takes over an account only once the database's `expires_at` has passed. This replica
stops earlier: it counts an account as held only until (the start of its last successful renewal, by
its own monotonic clock) + lease − a safety margin. The renewal is written after it started, so that
moment always comes before the database's expiry: a replica cut off from the database, or paused
(SIGSTOP) past its lease, stops sending for an account before anyone else may start.

`held(account)` is a dictionary look-up and a clock read: cheap enough for every send. `on_gain` and
`on_loss` (the composition starts and stops the account's channel with them) run one after another per
account, never two at once for the same account.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from bot.cluster import rows
from bot.reasons import reason

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.config import ClusterSettings

log = logging.getLogger(__name__)

Transition = Callable[[str], Awaitable[None]]
"""Called with an account's name when this replica starts (`on_gain`) or stops (`on_loss`) serving it."""
Fatal = Callable[[str], None]
"""Called once, with a message, when this replica must stop serving altogether (its id was taken)."""

MARGIN_SHARE = 1 / 6
"""The safety margin as a share of the lease: a send already under way when the lease runs out locally
still finishes before the database lets another replica start (5 s of a 30 s lease)."""


class Leases:
    """The leases of one replica (see the module docstring). `start` registers it (`ReplicaTaken` when
    a live replica has its id) and starts the heartbeat; `stop` lets every lease go at once."""

    def __init__(
        self,
        engine: Engine,
        settings: ClusterSettings,
        accounts: Iterable[str],
        *,
        on_gain: Transition | None = None,
        on_loss: Transition | None = None,
        on_fatal: Fatal | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.me = rows.Me.here(settings.replica_id)
        self.accounts = tuple(dict.fromkeys(accounts))
        self.lease = float(settings.lease_seconds)
        self.period = self.lease / 3
        self.margin = self.lease * MARGIN_SHARE
        self.on_gain = on_gain
        self.on_loss = on_loss
        self.on_fatal = on_fatal
        self.clock = clock
        self._until: dict[str, float] = {}
        """Held account → when, by `clock`, this replica stops counting it as held."""
        self._serving: set[str] = set()
        """Accounts `on_gain` was called for and `on_loss` not yet."""
        self._releasing: set[str] = set()
        """Accounts beyond the fair share, stopped here, given up in the database by the next beat."""
        self._chains: dict[str, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self.beats = 0
        """Successful heartbeats so far (tests and the status wait for the first)."""
        self.first_beat = asyncio.Event()

    @property
    def replica_id(self) -> str:
        return self.me.replica_id

    # -- the seam ------------------------------------------------------------------------------------

    def held(self, account: str) -> bool:
        """Whether this replica may send for `account` now."""
        until = self._until.get(account)
        return until is not None and self.clock() < until

    @property
    def serving(self) -> frozenset[str]:
        return frozenset(self._serving)

    # -- life cycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(rows.register, self.engine, self.me, self.lease)
        log.info(
            "集群：副本 %s 已加入，租约 %.0f 秒 / cluster replica %s joined (lease %.0f s)",
            self.replica_id,
            self.lease,
            self.replica_id,
            self.lease,
        )
        self._task = asyncio.get_running_loop().create_task(self._run(), name="cluster-leases")

    async def stop(self) -> None:
        """Stop serving every account (their `on_loss` runs), then free the leases at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for account in sorted(self._serving):
            self._lose(account, "stopping")
        await self._settle()
        try:
            await asyncio.to_thread(rows.leave, self.engine, self.me)
        except Exception as exc:  # they expire after one lease instead
            log.warning("集群：退出时没能释放租约（一个租约期后自动过期）/ leases not freed: %s", reason(exc))

    async def _settle(self) -> None:
        chains = [t for t in self._chains.values() if not t.done()]
        if chains:
            await asyncio.gather(*chains, return_exceptions=True)

    # -- the heartbeat -------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            started = self.clock()
            releasing = tuple(sorted(self._releasing))
            work = asyncio.ensure_future(
                asyncio.to_thread(rows.beat, self.engine, self.me, self.accounts, self.lease, releasing)
            )
            await self._pause(work=work)
            try:
                found = work.result()
            except rows.Replaced:
                self._replaced()
                return
            except Exception as exc:
                if not self._failing:
                    log.warning(
                        "集群：续租失败，租约到期前照常服务，到期后停止发送 / lease renewal failed: %s",
                        reason(exc),
                    )
                self._failing = True
            else:
                if self._failing:
                    log.info("集群：数据库又连上了，续租恢复 / lease renewal works again")
                self._failing = False
                self._releasing -= set(releasing)
                self._apply(found, started)
            await self._pause(until=started + self.period)

    async def _pause(self, *, work: asyncio.Future[rows.Beat] | None = None, until: float = 0.0) -> None:
        """Wait for `work` (or until `until`), stopping each account whose lease runs out meanwhile."""
        while True:
            self._expire()
            now = self.clock()
            if work is not None and work.done():
                return
            if work is None and now >= until:
                return
            ends = [u for u in self._until.values() if u > now]
            wake = min([*ends, until if work is None else now + self.period])
            timeout = max(0.0, wake - now) + 0.001
            if work is not None:
                await asyncio.wait({work}, timeout=timeout)
            else:
                await asyncio.sleep(timeout)

    def _apply(self, found: rows.Beat, started: float) -> None:
        self.beats += 1
        until = started + self.lease - self.margin
        if until <= self.clock():  # the beat took longer than the lease allows: nothing is held
            found = rows.Beat(frozenset(), found.live, found.fair)
        for account in sorted(self._serving - found.held):
            self._lose(account, "taken")
        kept = sorted(found.held)
        extra = kept[found.fair :] if len(kept) > found.fair else []
        for account in kept:
            if account in extra:
                continue
            self._until[account] = until
            if account not in self._serving:
                self._serving.add(account)
                log.info("集群：开始服务账号 %s / now serving %s", account, account)
                self._chain(account, self.on_gain)
        for account in extra:  # more than the fair share: stop here now, give it up on the next beat
            self._releasing.add(account)
            if account in self._serving:
                self._lose(account, "rebalance")
        self.first_beat.set()

    def _expire(self) -> None:
        now = self.clock()
        for account in sorted(self._serving):
            if self._until.get(account, 0.0) <= now:
                self._lose(account, "expired")

    def _lose(self, account: str, why: str) -> None:
        self._until.pop(account, None)
        if account not in self._serving:
            return
        self._serving.discard(account)
        if why == "expired":
            log.warning(
                "集群：账号 %s 的租约没能按时续上，停止为它发送 / lease of %s ran out: no more sends for it",
                account,
                account,
            )
        elif why == "rebalance":
            log.info("集群：账号 %s 让给其他副本（均摊）/ handing %s to another replica", account, account)
        elif why == "taken":
            log.warning("集群：账号 %s 已由其他副本接管 / %s was taken over", account, account)
        self._chain(account, self.on_loss)

    def _chain(self, account: str, transition: Transition | None) -> None:
        """Run `transition(account)` after the account's previous one finished."""
        if transition is None:
            return
        before = self._chains.get(account)

        async def run() -> None:
            if before is not None:
                await asyncio.gather(before, return_exceptions=True)
            try:
                await transition(account)
            except Exception:
                log.exception(
                    "集群：账号 %s 的启动/停止出错 / starting or stopping %s failed", account, account
                )

        self._chains[account] = asyncio.get_running_loop().create_task(run(), name=f"cluster-{account}")

    def _replaced(self) -> None:
        for account in sorted(self._serving):
            self._lose(account, "replaced")
        message = (
            f"副本名 {self.replica_id!r} 被另一个新启动的副本占用了，本副本停止服务 / "
            f"replica id {self.replica_id!r} was taken by a newer start: this replica stops"
        )
        log.error("%s", message)
        if self.on_fatal is not None:
            self.on_fatal(message)
