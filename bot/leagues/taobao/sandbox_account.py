"""The demo Taobao alliance app the sandbox's TOP face knows.

The sandbox (`tuike_sandbox`) accepts exactly this account; the league's builder uses it, whatever is
configured, when `[leagues.taobao] sandbox = true`. The product never imports the sandbox itself."""

SANDBOX_APP_KEY = "12345678"
SANDBOX_APP_SECRET = "sandbox-top-secret"
SANDBOX_MEMBER = "2663285701"
SANDBOX_SITE = "2345678"
