"""Every console page to visit, listed from the app's own routes, so a new page is checked.

`pages(app, values)` gives each GET route under /console and /admin as a URL: a route with
path parameters takes them from `values` (a new parameter fails the test until it has one),
and a route that answers no HTML page (JSON, CSV, PDF, a download) is left out by name in
`NOT_PAGES` with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

NOT_PAGES = {
    "/console/instances/states": "JSON for the instance list's script",
    "/console/billing/bills/{month}.csv": "a CSV download",
    "/console/payments/invoices/{document_id}.pdf": "a PDF download",
    "/console/containers/{name}/objects/{object_name:path}": "an object download",
    "/console/payments/test-provider/{payment_id}": "the test payment provider's own page, "
                                                    "not the console's (test_payments_flow)",
    "/console/payments/invoices/{document_id}": "needs an issued invoice (test_payments_flow)",
}
ANONYMOUS = ("/console/login", "/console/signup", "/console/signup/verify",
             "/console/password-reset", "/console/password-reset/confirm",
             "/console/invitations/accept", "/console/account/email/confirm")
PARAMETER = re.compile(r"\{([a-z_]+)(?::path)?\}")


@dataclass(frozen=True, slots=True)
class Page:
    route: str
    url: str

    @property
    def admin(self) -> bool:
        return self.route.startswith("/admin")

    @property
    def anonymous(self) -> bool:
        return self.route in ANONYMOUS


def get_routes(routes: Iterable[Any], prefix: str = "") -> Iterator[str]:
    """Paths of the GET routes, through FastAPI's included routers and mounts."""
    for route in routes:
        included = getattr(route, "include_context", None)
        if included is not None:
            yield from get_routes(included.included_router.routes, prefix + included.prefix)
        elif hasattr(route, "routes") and not getattr(route, "methods", None):
            yield from get_routes(route.routes, prefix + getattr(route, "path", ""))
        elif "GET" in (getattr(route, "methods", None) or ()):
            yield prefix + route.path


def pages(app: Any, values: Mapping[str, str]) -> list[Page]:
    """Every console page of `app`, parameters filled from `values` (by parameter name)."""
    found: list[Page] = []
    for route in dict.fromkeys(get_routes(app.routes)):
        if not route.startswith(("/console", "/admin")) or route in NOT_PAGES:
            continue
        missing = [name for name in PARAMETER.findall(route) if name not in values]
        assert not missing, f"{route}: give the layout tests a value for {missing}"
        found.append(Page(route, PARAMETER.sub(lambda m: values[m.group(1)], route)))
    return found
