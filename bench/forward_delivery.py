"""线报 forwarding's delivery half: how fast the pipeline gets a message out to 200 target groups through
the store (the forward log, the dedupe memory, a reservation, a claim and a mark per group in the push
log), and how the paced sender splits its budget when forwards, members' answers and daily pushes all
wait at once.

The remaking is a fake that answers at once (bench/forward.py measures the real one over the sandbox
leagues); the senders are unpaced, so the figure is the store's and the pipeline's own cost.

    .venv/bin/python bench/forward_delivery.py [--groups 200] [--messages 20] [--database-url URL]

The last line is a JSON object of the figures (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (the fake remaker, a PG schema)

from bot.chat.base import Outgoing, Reply
from bot.push.sender import PacedSender
from bot.store import db
from bot.store.groups import ensure_group
from tests.forward.fakes import Chat, FakeRemaker, pipeline, said, sender
from tests.helpers import postgres_schema, wait_until
from tests.push.test_sender import FakeTime


async def delivery(url: str, groups: int, messages: int) -> dict[str, float]:
    engine = db.make_engine(url)
    db.upgrade(engine)
    rooms = tuple(f"{40000000 + n}@chatroom" for n in range(groups))
    for room in rooms:  # known groups, as after the bot heard from them
        await asyncio.to_thread(ensure_group, engine, room, room, "", "console:bot")
    chat = Chat()
    pipe = pipeline(
        engine, chat, FakeRemaker(), senders={"console:bot": sender(chat)}, targets=rooms, max_per_hour=120
    )
    await pipe.start()
    started = time.perf_counter()
    for n in range(messages):
        await pipe.intake(said("src1@chatroom", f"第 {n} 条 商品:jd:{n} 到手 9.9"))
    await pipe.drained()
    await wait_until(lambda: pipe.sends_pending == 0, within=600)
    seconds = time.perf_counter() - started
    await pipe.stop()
    engine.dispose()
    sent = len(chat.sent)
    assert sent == groups * messages, (sent, groups * messages)
    print(
        f"{messages} messages × {groups} groups = {sent} sends in {seconds:.2f} s: "
        f"{sent / seconds:.0f} group sends/s, {seconds / messages:.2f} s per message to {groups} groups"
    )
    return {
        "group_sends_per_s": round(sent / seconds, 1),
        f"seconds_per_message_to_{groups}_groups": round(seconds / messages, 3),
    }


async def budget_split() -> dict[str, float]:
    """200 forwards, 100 answers and 50 pushes queued at once: who gets the first 100 sends."""
    t, order = FakeTime(), []

    async def send(o: Outgoing) -> None:
        order.append(o.reply.parts[0].text)  # type: ignore[union-attr]

    paced = PacedSender(send, rate_per_minute=20, jitter=(3, 8), clock=t.clock, sleep=t.sleep)
    waiting = [paced.forward(Outgoing(f"f{i}", Reply.text("forward"))) for i in range(200)]
    waiting += [paced.push(Outgoing(f"p{i}", Reply.text("push"))) for i in range(50)]
    answers = [asyncio.ensure_future(paced.reply(Outgoing(f"r{i}", Reply.text("reply")))) for i in range(100)]
    paced.start()
    await asyncio.gather(*waiting, *answers)
    await paced.close()
    first = order[:100]
    split = {kind: first.count(kind) for kind in ("reply", "push", "forward")}
    last_reply = max(i for i, kind in enumerate(order) if kind == "reply")
    print(
        f"first 100 sends with everything waiting: {split}; the last answer went out as send {last_reply + 1}"
    )
    return {
        "first_100_replies": split["reply"],
        "first_100_pushes": split["push"],
        "first_100_forwards": split["forward"],
        "last_reply_at_send": last_reply + 1,
    }


async def main(groups: int, messages: int, url: str | None) -> dict[str, float]:
    figures: dict[str, float] = {}
    if url:
        with postgres_schema(url) as schema_url:
            figures |= await delivery(schema_url, groups, messages)
    else:
        with tempfile.TemporaryDirectory() as folder:
            figures |= await delivery(f"sqlite:///{folder}/bench.db", groups, messages)
    figures |= await budget_split()
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.groups, args.messages, args.database_url))))
