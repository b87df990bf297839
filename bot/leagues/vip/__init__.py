"""Vipshop union (唯品会联盟) over the vop gateway: signing, client, mapping to domain types."""
