"""The demo Shopify shop the sandbox's Shopify face knows.

The sandbox (`tuike_sandbox`) accepts exactly this shop and token; the builder uses them, whatever is
configured, when `[shops.shopify] sandbox = true`. The product never imports the sandbox itself."""

PATH = "/shopify"
"""Where the sandbox serves the Admin API (`{PATH}/admin/api/{version}/graphql.json`)."""
DEFAULT_SHOP = "tuike-sandbox.myshopify.com"
DEFAULT_TOKEN = "shpat_sandbox_0123456789abcdef0123456789"
