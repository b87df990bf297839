"""Orders: sync per league, attribution to groups, reports (and the rebate ledger)."""
