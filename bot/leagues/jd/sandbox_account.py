"""The demo JD union account the sandbox's JOS face knows.

The sandbox (`tuike_sandbox`) accepts exactly this account; the league's builder uses it, whatever is
configured, when `[leagues.jd] sandbox = true`. The product never imports the sandbox itself."""

PATH = "/routerjson"
DEFAULT_APP_KEY = "sandbox_jd_app"
DEFAULT_APP_SECRET = "sandbox_jd_secret"
SOCIAL_SITE_ID = "4000123456"
"""The sandbox account's social-media site (社交媒体): bysubunionid works, common.get refuses it."""
WEBSITE_SITE_ID = "1000654321"
"""The sandbox account's website/APP site: what common.get wants."""
