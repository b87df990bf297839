"""Fixtures shared by the whole suite: configs, a temporary store, PostgreSQL when available."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.store import db

PG_ENV = "TUIKE_TEST_DATABASE_URL"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database in a temporary folder."""
    eng = db.make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    db.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1/test)")
    return url


@pytest.fixture
def write_config(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a config file under tmp_path whose data_dir is also there; returns its path."""

    def write(body: str = "", name: str = "config.toml") -> Path:
        path = tmp_path / name
        data_dir = (tmp_path / "data").as_posix()
        if "[bot]" in body:
            body = body.replace("[bot]", f'[bot]\ndata_dir = "{data_dir}"', 1)
        else:
            body = f'[bot]\ndata_dir = "{data_dir}"\n' + body
        path.write_text(body, encoding="utf-8")
        return path

    return write


@pytest.fixture
async def sandbox():  # type: ignore[no-untyped-def]
    """The sandbox league on a free loopback port."""
    from bot.leagues.sandbox.server import SandboxServer

    async with SandboxServer() as server:
        yield server


@pytest.fixture
async def channels_client(sandbox, engine):  # type: ignore[no-untyped-def]
    from bot.leagues.wechat.client import ChannelsClient

    client = ChannelsClient(
        sandbox.base_url, "wx_test_org", "sandbox", engine=engine, backoff=0.001, timeout=2
    )
    yield client
    await client.aclose()


@pytest.fixture
async def channels_league(channels_client):  # type: ignore[no-untyped-def]
    from bot.leagues.wechat.league import ChannelsLeague

    return ChannelsLeague(channels_client, mini_program_appid="wx_sandbox_mp")
