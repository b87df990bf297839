"""A local simulator of every league's HTTP API over ONE shipped catalogue, on one loopback port.

The Channels API is served as it always was; each other league has a wire face (`top_face` for Taobao's
TOP gateway, ...) dispatched by path in `server.SandboxServer`, deriving its own id form from the shared
products. It is the bot's embedded default (a newcomer gets real-looking products with no account) and
what the tests talk to over real HTTP on 127.0.0.1.
"""
