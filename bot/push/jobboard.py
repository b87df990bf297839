"""What a push service needs of the process's one job list (`bot.jobs.Jobs`): a protocol, so the
push layer does not import the jobs layer above it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from apscheduler.triggers.base import BaseTrigger


class JobBoard(Protocol):
    """Where a push service puts its periodic jobs: the process's one list (`bot.jobs.Jobs`)."""

    def add(
        self,
        job_id: str,
        trigger: BaseTrigger,
        func: Callable[..., Awaitable[object]],
        *,
        kind: str,
        account: str = "",
        what: str = "",
        kwargs: Mapping[str, Any] | None = None,
        first_run: datetime | None = None,
    ) -> None: ...

    def remove(self, job_id: str) -> None: ...

    async def stop(self, job_id: str) -> None: ...

    def ids(self, prefix: str = "") -> list[str]: ...

    def wake(self, job_id: str) -> bool: ...
