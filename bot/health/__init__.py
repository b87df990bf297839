"""Is what the configuration points at reachable and sane? The probes behind `tuike check` (which
assembles them in bot.cli.checks) and the 联盟 page's test button in the web console.

- `probes.py` one cheap call per chat gateway, iLink account and real league, plus the refusals that
  need no network (a sandbox league in a real chat, the Wechaty channel without its extra)
"""
