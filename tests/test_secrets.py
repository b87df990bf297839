"""Secrets never surface: a whole `tuike run` (failing statements included) and `tuike check` are grepped
for every secret value the operator configured."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot import redact
from tests.conftest import PG_ENV
from tests.helpers import postgres_schema, tuike

CHANNELS_SECRET = "chn-SECRET-7f3a9c1e"
WECHATY_TOKEN = "wty-TOKEN-5b2d8e4f"
DB_PASSWORD = "db-PASSWORD-9e1c4a7b"
SANDBOX_TOKEN = re.compile(r"SBX_[\w-]{20,}")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIKE_")}
    env.update(TUIKE_CHANNELS_SECRET=CHANNELS_SECRET, TUIKE_WECHATY_TOKEN=WECHATY_TOKEN, **extra)
    return env


def _assert_clean(*texts: str) -> None:
    for text in texts:
        for secret in (CHANNELS_SECRET, WECHATY_TOKEN, DB_PASSWORD):
            assert secret not in text
        assert not SANDBOX_TOKEN.search(text), "a league access token was shown"


def _run(config: Path, cwd: Path, env: dict[str, str], lines: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        input=lines,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_full_run_with_failing_statements_shows_no_secret(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config('[bot]\nlog_level = "DEBUG"\n')
    env = _env()
    upgraded = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    # A table gone missing: every statement on it fails, and its error is logged with the statement.
    with sqlite3.connect(tmp_path / "data" / "tuike.db") as connection:
        connection.execute("DROP TABLE request_log")

    result = _run(config, tmp_path, env, "帮助\n找 蓝牙耳机\n/owner\n订阅 每天 8点\n订阅状态\n")

    assert result.returncode == 0, result.stderr
    assert "找 蓝牙耳机" in result.stdout  # it really ran: the help text came back
    assert "request log" in result.stderr  # and the failing statement path was taken
    _assert_clean(result.stdout, result.stderr)
    check = tuike("--config", str(config), "check", cwd=tmp_path)
    _assert_clean(check.stdout, check.stderr)


def test_a_failing_statement_logs_no_parameters(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    config = write_config()
    env = _env()
    subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    with sqlite3.connect(tmp_path / "data" / "tuike.db") as connection:
        connection.execute("DROP TABLE groups")

    result = _run(config, tmp_path, env, "找 蓝牙耳机\n")

    assert "SQL parameters hidden" in result.stderr
    assert "蓝牙耳机" not in result.stderr.replace("找 蓝牙耳机", "")  # no member text from a statement
    _assert_clean(result.stdout, result.stderr)


def test_a_run_on_postgresql_with_a_password_never_shows_it(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}")
    with postgres_schema(url) as schema_url:
        with_password = re.sub(r"://([^:@/]+)@", rf"://\1:{DB_PASSWORD}@", schema_url)
        assert DB_PASSWORD in with_password, "the test URL needs a user name"
        config = write_config()
        env = _env(TUIKE_DATABASE_URL=with_password)
        upgrade = tuike_env(env, tmp_path, "--config", str(config), "db", "upgrade")
        result = _run(config, tmp_path, env, "帮助\n")
        check = tuike_env(env, tmp_path, "--config", str(config), "check")
    assert result.returncode == 0, result.stderr
    _assert_clean(upgrade.stdout, upgrade.stderr, result.stdout, result.stderr, check.stdout, check.stderr)


def tuike_env(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return tuike(*args, cwd=cwd, env=env)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://tuike:{DB_PASSWORD}@db.example:notaport/tuike",
        f"postgresql+psycopg://tuike:{DB_PASSWORD}@[::1/tuike",
        f"{DB_PASSWORD} is not a url",
    ],
)
def test_check_with_a_malformed_database_url_says_one_line_and_exits_2(tmp_path: Path, url: str) -> None:
    result = tuike_env(_env(TUIKE_DATABASE_URL=url), tmp_path, "check")

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "database.url" in result.stderr
    _assert_clean(result.stdout, result.stderr)


def test_check_with_an_unreachable_database_never_shows_the_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://tuike:{DB_PASSWORD}@127.0.0.1:1/tuike"
    result = tuike_env(_env(TUIKE_DATABASE_URL=url), tmp_path, "check")

    assert result.returncode == 1
    assert "tuike:***@127.0.0.1:1" in result.stdout
    _assert_clean(result.stdout, result.stderr)


def test_the_log_filter_masks_known_secrets_in_messages_and_tracebacks() -> None:
    import logging

    redact.forget_all()
    redact.register(CHANNELS_SECRET, "abc")  # too short to be a secret: ignored, not masked everywhere
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "secret is %s, abc", (CHANNELS_SECRET,), None)
    try:
        raise RuntimeError(f"refused {CHANNELS_SECRET} at https://u:{DB_PASSWORD}@h/x?access_token=SBX_1234")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    redact.SecretFilter().filter(record)
    text = logging.Formatter().format(record)
    redact.forget_all()

    assert "secret is ***, abc" in text
    assert "RuntimeError: refused *** at https://u:***@h/x?access_token=***" in text
    _assert_clean(text)


def test_settings_named_like_secrets_but_holding_a_mode_are_not_masked() -> None:
    """`token_mode = "stable"` is a choice, not a secret: masking it would hide the word in every log line."""
    from bot.config import parse_settings
    from bot.redact import secret_values

    settings = parse_settings(
        {"leagues": {"channels": {"secret": "s3cr3t-channels", "token_mode": "stable"}}}
    )
    found = secret_values(settings)
    assert "s3cr3t-channels" in found
    assert "stable" not in found


UNION_SECRET = "uni-SECRET-3c8d1f6a"
GATEWAY_TOKEN = "gw-TOKEN-8a4e2b7d"
APP_SECRETS = (CHANNELS_SECRET, UNION_SECRET, GATEWAY_TOKEN)


class _Echo(BaseHTTPRequestHandler):
    """A league or gateway that refuses every call and echoes the request in its error, as some do:
    headers, path and query, body (in the error fields of the WeChat, union and GeWe shapes)."""

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        said = "; ".join(f"{k}: {v}" for k, v in self.headers.items() if k.lower().startswith("x-"))
        echo = f"{said} {self.command} {self.path} {body}"
        answer = json.dumps(
            {"errcode": 47001, "errmsg": f"data format error: {echo}", "ret": 500, "msg": echo}
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer.encode())))
        self.end_headers()
        self.wfile.write(answer.encode())

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _echo_config(write_config: Callable[..., Path], url: str) -> Path:
    return write_config(
        f"""
[chat]
kind = "gateway"

[chat.gateway]
base_url = "{url}/v2/api"
token = "{GATEWAY_TOKEN}"
app_id = "wx_echo"
listen = "127.0.0.1:0"

[leagues.channels]
sandbox = false
base_url = "{url}"
appid = "wx_echo_org"
secret = "{CHANNELS_SECRET}"
max_retries = 0

[leagues.union]
enabled = true
sandbox = false
base_url = "{url}"
appid = "wx_echo_union"
secret = "{UNION_SECRET}"
max_retries = 0
"""
    )


@pytest.mark.parametrize(
    "command",
    [
        ("search", "蓝牙耳机", "--league", "channels", "--json"),
        ("search", "蓝牙耳机", "--league", "union", "--json"),
        ("union", "spots", "--json"),
        ("orders", "sync"),
        ("check",),
    ],
    ids=" ".join,
)
def test_cli_output_never_shows_a_secret_a_server_echoes(
    tmp_path: Path, write_config: Callable[..., Path], echo_url: str, command: tuple[str, ...]
) -> None:
    """Issue 33 #21: with servers that echo the request in their errors, these commands printed the
    Channels and union secrets and `X-GEWE-TOKEN`; `tuike run` masked them, the CLI did not."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIKE_")}
    result = tuike_env(env, tmp_path, "--config", str(_echo_config(write_config, echo_url)), *command)
    shown = result.stdout + result.stderr
    assert result.returncode != 0, shown
    for secret in APP_SECRETS:
        assert secret not in shown, shown
    assert "***" in shown, f"the echo was not shown at all: {shown}"
