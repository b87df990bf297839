"""线报 forwarding (issue 29): a deal posted in a source group reaches every target group, with every
link and 口令 remade under that group's own identity.

`remake` decides *what* a target group receives (resolve a source message once, remake it per group);
`rules` holds the pure rules (dedupe keys, block words, quiet hours, the hourly cap). The delivery half
(`pipeline`, `targets`, `log`) queues, paces and records.
"""
