"""The API fixture (`cloud`) of tests/api, for the SWS filter's API tests."""

from tests.api.conftest import cloud, database_url

__all__ = ["cloud", "database_url"]
