"""Pinduoduo 多多进宝 over the `gw-api` router: signing, client, mapping to domain types."""
