"""The demo Ele.me (alsc) app the sandbox's TOP face knows.

The sandbox (`tuike_sandbox`) accepts exactly this app on its TOP gateway (`/router/rest`); the league's
builder uses it, whatever is configured, when `[leagues.eleme] sandbox = true`. The product never
imports the sandbox itself."""

PATH = "/router/rest"
"""Where the sandbox serves the TOP gateway (Ele.me's methods go through the same one as Taobao's)."""
SANDBOX_APP_KEY = "23456789"
SANDBOX_APP_SECRET = "sandbox-eleme-secret"
SANDBOX_PID = "alsc_23456789_1000001_2000001"
