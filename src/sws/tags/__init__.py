"""Tags: a tenant's short key or key=value labels on its resources, and filters by them."""
