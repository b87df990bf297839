"""The `[leagues.eleme]` / `[leagues.meituan]` tables that point both takeout leagues at a running
sandbox the way an operator points them at the real APIs (sandbox = false, base_url, credentials)."""

from __future__ import annotations

from bot.leagues.eleme.sandbox_account import SANDBOX_APP_KEY as ELEME_KEY
from bot.leagues.eleme.sandbox_account import SANDBOX_APP_SECRET as ELEME_SECRET
from bot.leagues.eleme.sandbox_account import SANDBOX_PID
from bot.leagues.meituan.sandbox_account import PATH as MEITUAN_PATH
from bot.leagues.meituan.sandbox_account import SANDBOX_APP_KEY as MEITUAN_KEY
from bot.leagues.meituan.sandbox_account import SANDBOX_APP_SECRET as MEITUAN_SECRET


def takeout_sections(base_url: str, *, meituan: bool = True) -> str:
    return f"""
[leagues.eleme]
enabled = true
sandbox = false
base_url = "{base_url}/router/rest"
app_key = "{ELEME_KEY}"
app_secret = "{ELEME_SECRET}"
pid = "{SANDBOX_PID}"
max_retries = 1

[leagues.meituan]
enabled = {"true" if meituan else "false"}
sandbox = false
base_url = "{base_url}{MEITUAN_PATH}"
app_key = "{MEITUAN_KEY}"
app_secret = "{MEITUAN_SECRET}"
act_ids = [33]
max_retries = 1
"""
