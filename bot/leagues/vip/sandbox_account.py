"""The demo Vipshop union app the sandbox's vop face knows.

The sandbox (`tuike_sandbox`) accepts exactly this app; the league's builder uses it, whatever is
configured, when `[leagues.vip] sandbox = true`. The product never imports the sandbox itself."""

PATH = "/vop"
"""Where the sandbox serves the vop gateway (the real one takes calls at its root, `/`)."""
DEFAULT_APP_KEY = "sandbox_vip_app"
DEFAULT_APP_SECRET = "sandbox_vip_secret_0123456789ABCD"
