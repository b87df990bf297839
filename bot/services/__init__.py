"""The domain, below the chat (bot.handlers), the pushes (bot.push), the console (bot.web) and the CLI:
deal lookup (`deals`), attribution (`attribution`), subscriptions (`subscriptions`) and the rebate
ledger's rules (`ledger`). Each is used the same way by every face; none knows a chat platform or HTTP.
"""
