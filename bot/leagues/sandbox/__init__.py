"""Sandbox league: a local stand-in for the Channels league APIs, fed by a shipped catalogue."""
