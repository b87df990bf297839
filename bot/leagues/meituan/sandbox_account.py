"""The demo Meituan media app the sandbox's Meituan face knows.

The sandbox (`tuike_sandbox`) accepts exactly this app; the league's builder uses it, whatever is
configured, when `[leagues.meituan] sandbox = true`. The product never imports the sandbox itself."""

PATH = "/cps_open/common/api/v1"
"""Where the sandbox serves the API: the real path, so what is signed is what the real gateway signs."""
SANDBOX_APP_KEY = "sandbox-meituan-app"
SANDBOX_APP_SECRET = "sandbox-meituan-secret"
SANDBOX_ACT_IDS = ("33",)
"""The sandbox's 外卖红包 activity (the reference's worked example uses 33)."""
