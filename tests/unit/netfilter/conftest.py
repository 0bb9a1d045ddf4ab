"""The API fixture (`cloud`) of tests/api and the console fixture of tests/unit/console, for
the SWS filter's API and console tests."""

from tests.api.conftest import cloud, database_url
from tests.unit.console.conftest import console, template

__all__ = ["cloud", "console", "database_url", "template"]
