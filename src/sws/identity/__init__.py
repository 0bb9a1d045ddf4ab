"""Identity: regions, tenants (projects), users, roles and authentication."""
