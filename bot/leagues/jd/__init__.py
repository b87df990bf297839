"""JD union (京东联盟) over the JOS gateway `routerjson`: signing, client, mapping to domain types."""
