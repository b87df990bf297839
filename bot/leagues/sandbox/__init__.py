"""A local simulator of the WeChat Channels league HTTP API, with a shipped catalogue.

It is the bot's embedded default (a newcomer gets real-looking products with no account) and what the
tests talk to over real HTTP on 127.0.0.1.
"""
