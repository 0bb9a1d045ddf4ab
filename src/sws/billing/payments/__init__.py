"""Money in: checkouts with payment providers, verified callbacks, exactly-once credit."""
