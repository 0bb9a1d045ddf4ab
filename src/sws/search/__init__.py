"""Global search: a tenant's resources in one region found by name, id or address."""
