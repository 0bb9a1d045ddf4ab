"""The admin's dead letters: every refused input (notifications SWS could not understand,
payment callbacks it would not credit) with the reason, filtered by kind, source and days."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Response

from sws.deadletters import model
from sws.deadletters import service as dead_letters
from sws.web.console.context import Admin
from sws.web.console.render import page
from sws.web.console.routing import ConsoleRoute

router = APIRouter(prefix="/admin", route_class=ConsoleRoute, include_in_schema=False)
Field = Annotated[str, Query(max_length=64)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
PAGE_SIZE = 50


@router.get("/dead-letters")
def dead_letter_list(
    s: Admin, kind: Field = "", source: Field = "", since: Field = "", until: Field = "",
    offset: Offset = 0,
) -> Response:
    wanted = model.parse_filter(kind=kind, source=source, since=since, until=until)
    found = dead_letters.list_page(db=s.container.db, wanted=wanted, limit=PAGE_SIZE,
                                   offset=offset)
    form = {"kind": kind, "source": source, "since": since, "until": until}
    return page(
        s, "admin/dead_letters.html", letters=found.letters, total=found.total, offset=offset,
        page_size=PAGE_SIZE, form=form, kinds=model.KINDS, filtered=urlencode(form),
    )
