"""The gateway channel under load: the bot as `tuike run` starts it, a fake GeWe gateway, the sandbox league.

Prints how fast the webhook answers the gateway (it must answer before any league work), how many
webhook calls a second it accepts when a busy group chatters (nothing to answer), and how long a member
waits for a keyword answer (webhook in → league → reply out through the paced sender). Everything runs
in one process and one event loop (bot, fake gateway, sandbox league), so the figures are upper bounds.

    .venv/bin/python bench/gateway.py [--requests 40] [--chatter 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import App
from bot.config import load_config
from tests.chat.fake_gateway import FakeGateway
from tests.chat.fake_http import serve_asgi, wait_until

ROOM = "1@chatroom"


def _config(folder: Path, base: str) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f"""
[bot]
data_dir = "{(folder / "data").as_posix()}"
log_level = "WARNING"
[push]
rate_per_minute = 600
jitter_min_seconds = 0
jitter_max_seconds = 0
[deals]
member_requests = 1000
group_requests = 10000
[chat]
kind = "gateway"
allow_sandbox_with_real_chat = true
[chat.gateway]
base_url = "{base}/v2/api"
token = "t"
app_id = "wx_app"
listen = "127.0.0.1:0"
""",
        encoding="utf-8",
    )
    return path


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(requests: int, chatter: int) -> dict[str, float]:
    fake = FakeGateway(token="t", app_id="wx_app", bot_wxid="wxid_bot", bot_name="推客小助手")
    fake.add_room(ROOM, "测试群", "wxid_owner", {"wxid_alice": "小红"})
    with tempfile.TemporaryDirectory() as tmp:
        async with serve_asgi(fake.app) as base:
            app = App(load_config(_config(Path(tmp), base)))
            task = asyncio.create_task(app.run())
            await wait_until(lambda: getattr(app.channel, "logged_in", False), within=30)
            accept: list[float] = []
            answer: list[float] = []
            words = ["蓝牙耳机", "保温杯", "洗面奶", "跑步鞋", "充电宝"]
            for n in range(requests):
                await asyncio.sleep(
                    0.12
                )  # past the pacing gap (600/min), so the figure is the bot's, not the pace's
                before = len(fake.sent)
                payload = fake.text(f"找 {words[n % len(words)]}", sender="wxid_alice", room=ROOM)
                started = time.perf_counter()
                await fake.deliver(payload)
                accept.append(time.perf_counter() - started)
                await fake.wait_sent(before + 1, within=30)
                answer.append(time.perf_counter() - started)
            bodies = [
                fake.text(f"闲聊 {n}", sender="wxid_alice", room=ROOM, mention=False) for n in range(chatter)
            ]
            gate = asyncio.Semaphore(20)

            async def post(body: dict[str, object]) -> None:
                async with gate:
                    await fake.deliver(body)

            started = time.perf_counter()
            await asyncio.gather(*(post(b) for b in bodies))
            chatter_rate = chatter / (time.perf_counter() - started)
            await app.stop()
            await task
    figures = {
        "webhook_answer_p50_ms": round(statistics.median(accept) * 1000, 2),
        "webhook_answer_p95_ms": round(_pct(accept, 0.95) * 1000, 2),
        "keyword_reply_p50_ms": round(statistics.median(answer) * 1000, 1),
        "keyword_reply_p95_ms": round(_pct(answer, 0.95) * 1000, 1),
        "chatter_calls_per_s": round(chatter_rate, 1),
    }
    print(
        f"webhook answered in {figures['webhook_answer_p50_ms']} ms (p50), {figures['webhook_answer_p95_ms']} ms (p95)"
    )
    print(
        f"keyword answer in {figures['keyword_reply_p50_ms']} ms (p50), {figures['keyword_reply_p95_ms']} ms (p95)"
    )
    print(f"busy-group chatter accepted at {figures['chatter_calls_per_s']} webhook calls/s (20 in flight)")
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--chatter", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.requests, args.chatter))))
