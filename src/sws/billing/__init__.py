"""Billing: catalog, subscriptions from resource events, the farmer, the ledger and bills."""
