"""淘宝联盟 over the Taobao Open Platform (TOP) gateway: signing, the client, mapping to domain types.

Wire facts: ../shared/reference/league-apis.md §3. `signing` makes and checks signatures (the sandbox
face uses the same function, so both ends agree by construction and the published vector pins it),
`client` speaks the gateway, `mapping` turns its JSON into `Product`/`Order` (fen in one helper), and
`league` puts it behind the `League` protocol.
"""
