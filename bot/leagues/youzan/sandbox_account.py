"""The demo Youzan shop the sandbox's Youzan face knows.

The sandbox (`tuike_sandbox`) accepts exactly this app and shop; the builder uses them, whatever is
configured, when `[shops.youzan] sandbox = true`. The product never imports the sandbox itself."""

PATH = "/youzan"
"""Where the sandbox serves the open platform (the real one is `https://open.youzanyun.com`)."""
DEFAULT_CLIENT_ID = "sandbox_youzan_client"
DEFAULT_CLIENT_SECRET = "sandbox_youzan_secret_0123456789"
DEFAULT_KDT_ID = "91234567"
