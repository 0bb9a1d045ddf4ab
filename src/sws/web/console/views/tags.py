"""Console tags: the add and remove forms of a resource's tags, and the lists' tag filter.

The pages call `sws.tags.service.TagService` as the API does: ownership, the tag grammar and
the audit record live there. A tag filter shows every match on one page (no paging).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Annotated

from fastapi import APIRouter, Form, Query, Response

from sws.drivers.base import Server, ServerFilter
from sws.drivers.volumes import Volume
from sws.errors import Invalid, NotFound, SWSError
from sws.tags.model import MAX_KEY, MAX_TAGS, MAX_TEXT, MAX_VALUE, Kind, Tag
from sws.tags.service import PAGE, TagService, Target, all_pages
from sws.web.api.tags import tag_service
from sws.web.console import humane
from sws.web.console.context import Session, TenantPost
from sws.web.console.render import attempt, safe_next
from sws.web.console.routing import ConsoleRoute

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
TagText = Annotated[str, Form(max_length=MAX_TEXT + 16)]
Back = Annotated[str, Form(max_length=1024)]
TagFilter = Annotated[str, Query(max_length=MAX_TEXT + 16)]
BACK = {"servers": "/console/instances", "volumes": "/console/volumes"}
Chips = dict[str, tuple[Tag, ...]]


def _service(s: Session) -> TagService:
    return tag_service(s.container)


def _target(s: Session, kind: Kind, resource_id: str) -> Target:
    return Target(caller=s.principal, region=s.region, kind=kind, resource_id=resource_id,
                  source="console", remote_addr=s.client_ip)


def tags_of(s: Session, kind: Kind, resource_id: str) -> tuple[Tag, ...]:
    """The tags of the resource a page has just read through the driver (the tenant's own)."""
    return _service(s).of_shown(s.tenant_id, s.region, kind, resource_id)


def chips(s: Session, kind: Kind) -> Chips:
    """Every tagged resource's tags of one kind in the region, for a list's chips."""
    return _service(s).tags_by_resource(s.tenant_id, s.region, kind)


def tagged_servers(s: Session, filters: ServerFilter, tag: str) -> Sequence[Server]:
    """The instances tagged `tag` (every one: a filtered list is one page); none for a tag
    that is not a valid tag."""
    wanted = _wanted(s, "servers", tag)
    if not wanted:
        return []
    found = all_pages(lambda marker: s.driver.list_servers(s.tenant_id, filters, PAGE, marker),
                      lambda server: server.id, wanted)
    return sorted(found, key=lambda server: (server.name, server.id))


def tagged_volumes(s: Session, volumes: Iterable[Volume], tag: str) -> list[Volume]:
    wanted = _wanted(s, "volumes", tag)
    return [volume for volume in volumes if volume.id in wanted]


def _wanted(s: Session, kind: Kind, tag: str) -> set[str]:
    try:
        return _service(s).ids_with(s.tenant_id, s.region, kind, tag)
    except Invalid:
        return set()


def _reason(s: Session) -> Callable[[SWSError], str]:
    def reason(error: SWSError) -> str:
        if isinstance(error, Invalid):
            return s.gettext(
                "A tag is a key or key=value: the key takes letters, digits, '.', '_' and '-' "
                "(up to %(key)d), the value no spaces and no '=' (up to %(value)d); a resource "
                "holds at most %(most)d tags.", key=MAX_KEY, value=MAX_VALUE, most=MAX_TAGS)
        return humane.message(s.gettext, error.detail)
    return reason


def _back(kind: Kind, resource_id: str, back: str) -> str:
    default = f"/console/instances/{resource_id}" if kind == "servers" else BACK[kind]
    return safe_next(back, default)


def _kind(kind: str) -> Kind:
    if kind not in BACK:
        raise NotFound(f"no {kind[:32]!r} take tags here", field="kind")
    return "servers" if kind == "servers" else "volumes"


@router.post("/tags/{kind}/{resource_id}/add")
def add_tag(s: TenantPost, kind: str, resource_id: str, tag: TagText = "",
            back: Back = "") -> Response:
    known = _kind(kind)
    done = s.gettext("Tag %(tag)s added.", tag=tag.strip())
    return attempt(s, _back(known, resource_id, back), done,
                   lambda: _service(s).add(_target(s, known, resource_id), tag),
                   _reason(s))


@router.post("/tags/{kind}/{resource_id}/remove")
def remove_tag(s: TenantPost, kind: str, resource_id: str, tag: TagText = "",
               back: Back = "") -> Response:
    known = _kind(kind)
    done = s.gettext("Tag %(tag)s removed.", tag=tag.strip())
    return attempt(s, _back(known, resource_id, back), done,
                   lambda: _service(s).remove(_target(s, known, resource_id), tag),
                   _reason(s))
