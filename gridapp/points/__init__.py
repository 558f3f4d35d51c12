"""The points ledger: every point earned or spent is an append-only entry; balances are a checked cache."""
