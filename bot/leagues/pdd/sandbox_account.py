"""The demo PDD member the sandbox's router face knows.

The sandbox (`tuike_sandbox`) accepts exactly this account; the league's builder uses it, whatever is
configured, when `[leagues.pdd] sandbox = true`. The product never imports the sandbox itself."""

PATH = "/api/router"
DEFAULT_CLIENT_ID = "sandbox_pdd_client"
DEFAULT_CLIENT_SECRET = "sandbox_pdd_secret"
DEFAULT_PID = "10086001_100000001"
"""The sandbox member's own promotion position (registered), for `[leagues.pdd] pid` in sandbox mode."""
