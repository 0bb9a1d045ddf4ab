"""The API fixtures (a fresh cloud with tenants acme and globex) for load-balancer tests."""

from tests.api.conftest import Cloud, cloud, database_url

__all__ = ["Cloud", "cloud", "database_url"]
