"""Sponsor regions: who runs each region, whether tenants may use it, its health, and one
tenant's instances across every region (docs/community.md#sponsor-regions)."""
