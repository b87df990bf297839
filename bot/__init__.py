"""Tuike (推客): a WeChat group bot that hands out affiliate deals."""

__version__ = "0.1.0"
