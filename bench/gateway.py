"""The gateway channel under load: the bot as `tuike run` starts it, a fake GeWe gateway, the sandbox league.

Prints how fast the webhook answers the gateway (it must answer before any league work), how many
webhook calls a second it accepts when a busy group chatters (nothing to answer), and how long a member
waits for a keyword answer (webhook in → league → reply out through the paced sender). Everything runs
in one process and one event loop (bot, fake gateway, sandbox league), so the figures are upper bounds.

Then the webhook's throughput beside a bare ASGI echo on the same server stack (`AsgiServer`, uvicorn,
Starlette: read the body, parse the JSON, answer 200), measured in the same run: a load client in a
child process (raw HTTP/1.1, keep-alive, `--in-flight` requests at once) posts `--posts` gateway calls
— busy-group chatter with one in `--request-every` (50) a member's 「@bot 找 …」 from one of 50 members in
10 groups — first to the echo, then to the webhook of a bot whose sandbox league runs in another
process. `webhook_posts_per_s` / `echo_posts_per_s` (aim ≥ 0.9), the same per CPU second of this
process (steadier on a shared machine), the 503s (aim 0), and `backlog_drained_s`: how long after the
last post the bot had handled every message it took (its answers wait for the pace of 600 a minute).

    .venv/bin/python bench/gateway.py [--requests 40] [--chatter 1000] [--posts 20000] [--in-flight 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import App
from bot.chat.asgi import AsgiServer
from bot.config import load_config
from tests.chat.fake_gateway import FakeGateway
from tests.chat.fake_http import serve_asgi, wait_until

ROOM = "1@chatroom"


def _config(folder: Path, base: str, league: str = "") -> Path:
    """The bot's config; `league`: a sandbox league's URL in another process (else the embedded one)."""
    path = folder / "config.toml"
    leagues = (
        f"""
[leagues.channels]
sandbox = false
base_url = "{league}"
appid = "wx_bench_org"
secret = "bench-secret"
sharer_appid = "wx_sharer_demo02"
"""
        if league
        else ""
    )
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
"""
        + leagues,
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


# -- throughput beside a bare echo ---------------------------------------------------------------------

ROOMS = [f"{n}@chatroom" for n in range(1, 11)]
MEMBERS = {f"wxid_m{n:02d}": f"成员{n}" for n in range(50)}
WORDS = ["蓝牙耳机", "保温杯", "洗面奶", "跑步鞋", "充电宝"]


def _bodies(fake: FakeGateway, posts: int, request_every: int) -> list[bytes]:
    """Busy-group chatter with a member's request every `request_every` posts, spread over the rooms."""
    members = list(MEMBERS)
    out: list[bytes] = []
    for n in range(posts):
        room, sender = ROOMS[n % len(ROOMS)], members[n % len(members)]
        if request_every and n % request_every == 0:
            body = fake.text(f"找 {WORDS[n % len(WORDS)]}", sender=sender, room=room)
        else:
            body = fake.text(f"今天天气不错，晚上一起吃饭吗 {n}", sender=sender, room=room, mention=False)
        out.append(json.dumps(body, ensure_ascii=False).encode())
    return out


async def post_all(url: str, bodies: list[bytes], in_flight: int) -> dict[str, Any]:
    """POST every body over `in_flight` keep-alive connections (raw HTTP/1.1: the client costs little)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    head = (
        f"POST {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        "Content-Length: "
    ).encode()
    statuses: Counter[int] = Counter()
    waiting = iter(bodies)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            for body in waiting:
                writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                statuses[status] += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(in_flight)))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "statuses": {str(k): v for k, v in statuses.items()}}


async def _load(url: str, bodies: list[bytes], in_flight: int) -> dict[str, Any]:
    """`post_all` in a child process, so the client's CPU is not this process's."""
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as file:
        file.write(b"\n".join(bodies))
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--client",
        url,
        "--bodies",
        file.name,
        "--in-flight",
        str(in_flight),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await child.communicate()
    await asyncio.to_thread(Path(file.name).unlink)
    return json.loads(out.decode().strip().splitlines()[-1])


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The bare ASGI echo: read the body, parse it, answer 200 (what any webhook must do at least)."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    json.loads(body)
    answer = b'{"ret":200,"msg":"ok"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


def _backlog(channel: Any) -> int:
    """Webhook posts taken but not handled yet."""
    inbox = getattr(channel, "inbox", None)
    if inbox is not None:
        return int(inbox.backlog)
    current = channel._current
    return int(channel._queue.qsize()) + (0 if current is None or current.done() else 1)


def _sandbox_process() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox"], stdout=subprocess.PIPE, text=True, cwd=tempfile.mkdtemp()
    )
    assert proc.stdout is not None
    found = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline())
    assert found, "the sandbox did not say where it listens"
    return proc, found.group(0)


async def throughput(posts: int, in_flight: int, request_every: int, rounds: int) -> dict[str, float]:
    """`rounds` of echo then webhook, interleaved so a busy moment of the machine weighs on both."""
    fake = FakeGateway(token="t", app_id="wx_app", bot_wxid="wxid_bot", bot_name="推客小助手")
    for n, room in enumerate(ROOMS):
        fake.add_room(room, f"测试群{n}", "wxid_owner", dict(MEMBERS))
    echo_rates: list[float] = []
    webhook_rates: list[float] = []
    echo_cpu: list[float] = []
    webhook_cpu: list[float] = []
    drained: list[float] = []
    shed = not_ok = 0
    sandbox, league = _sandbox_process()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with serve_asgi(fake.app) as base:
                app = App(load_config(_config(Path(tmp), base, league)))
                task = asyncio.create_task(app.run())
                await wait_until(lambda: getattr(app.channel, "logged_in", False), within=30)
                echo = AsgiServer(_echo, "127.0.0.1", 0, name="echo")
                port = await echo.start()
                try:
                    for _ in range(rounds):
                        bodies = _bodies(fake, posts, request_every)  # new message ids every round
                        cpu = time.process_time()
                        echoed = await _load(f"http://127.0.0.1:{port}/gateway/callback", bodies, in_flight)
                        echo_cpu.append(posts / (time.process_time() - cpu))
                        echo_rates.append(posts / echoed["seconds"])
                        cpu = time.process_time()
                        webhook = await _load(app.channel.callback_url, bodies, in_flight)  # type: ignore[union-attr]
                        webhook_cpu.append(posts / (time.process_time() - cpu))
                        last_post = time.perf_counter()
                        await wait_until(lambda: _backlog(app.channel) == 0, within=600)
                        drained.append(time.perf_counter() - last_post)
                        webhook_rates.append(posts / webhook["seconds"])
                        shed += int(webhook["statuses"].get("503", 0))
                        not_ok += posts - int(webhook["statuses"].get("200", 0))
                finally:
                    await echo.stop()
                await app.stop()
                await task
    finally:
        sandbox.terminate()
        sandbox.wait()
    echo_rate, webhook_rate = statistics.median(echo_rates), statistics.median(webhook_rates)
    figures = {
        "echo_posts_per_s": round(echo_rate, 1),
        "webhook_posts_per_s": round(webhook_rate, 1),
        "webhook_to_echo": round(webhook_rate / echo_rate, 3),
        "webhook_503": shed,
        "webhook_not_200": not_ok,
        "echo_posts_per_cpu_s": round(statistics.median(echo_cpu), 1),
        "webhook_posts_per_cpu_s": round(statistics.median(webhook_cpu), 1),
        "webhook_to_echo_cpu": round(statistics.median(webhook_cpu) / statistics.median(echo_cpu), 3),
        "backlog_drained_s": round(statistics.median(drained), 2),
    }
    print(
        f"webhook took {figures['webhook_posts_per_s']} posts/s beside {figures['echo_posts_per_s']} for a bare "
        f"echo ({figures['webhook_to_echo']}×; per CPU second of this process "
        f"{figures['webhook_posts_per_cpu_s']} beside {figures['echo_posts_per_cpu_s']}, "
        f"{figures['webhook_to_echo_cpu']}×), {figures['webhook_503']} answered 503; the backlog drained "
        f"{figures['backlog_drained_s']} s after the last post (replies paced at 600/min; {in_flight} in "
        f"flight, a request every {request_every}; medians of {rounds})"
    )
    return figures


def _client(url: str, bodies_file: str, in_flight: int) -> None:
    bodies = Path(bodies_file).read_bytes().split(b"\n")
    print(json.dumps(asyncio.run(post_all(url, bodies, in_flight))))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--chatter", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--in-flight", type=int, default=20)
    parser.add_argument("--request-every", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--client", default="", help=argparse.SUPPRESS)
    parser.add_argument("--bodies", default="", help=argparse.SUPPRESS)
    parser.add_argument("--only-throughput", action="store_true")
    args = parser.parse_args()
    if args.client:
        _client(args.client, args.bodies, args.in_flight)
        sys.exit(0)
    figures = {} if args.only_throughput else asyncio.run(main(args.requests, args.chatter))
    figures.update(asyncio.run(throughput(args.posts, args.in_flight, args.request_every, args.rounds)))
    print(json.dumps(figures))
