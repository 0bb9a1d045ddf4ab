"""How an uploaded object is served back from the API host, so that a tenant's upload can
never run as a page of SWS.

Every object is served with `X-Content-Type-Options: nosniff`, so a browser keeps to the
stored type. A type a browser would render or run (HTML, SVG, XML and anything not known to
be passive) is served as an attachment, a download, never inline. Passive types (raster
images, audio, video, plain text, JSON, PDF, octet-stream) stay inline.
"""

from __future__ import annotations

from urllib.parse import quote

PASSIVE_PREFIXES = ("audio/", "video/")
PASSIVE_IMAGES = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp",
    "image/x-icon", "image/vnd.microsoft.icon", "image/tiff",
})
PASSIVE_TYPES = frozenset({
    "text/plain", "text/csv", "application/json", "application/pdf",
    "application/octet-stream", "application/zip", "application/gzip", "application/x-tar",
})


def media_type(content_type: str) -> str:
    """`Text/HTML; charset=utf-8` -> `text/html`."""
    return content_type.split(";", 1)[0].strip().lower()


def is_passive(content_type: str) -> bool:
    kind = media_type(content_type)
    return kind in PASSIVE_TYPES or kind in PASSIVE_IMAGES or kind.startswith(PASSIVE_PREFIXES)


def download_headers(content_type: str, name: str) -> dict[str, str]:
    """The safety headers for serving object `name` stored with `content_type`."""
    headers = {"X-Content-Type-Options": "nosniff"}
    if not is_passive(content_type):
        filename = name.rsplit("/", 1)[-1] or "object"
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
    return headers
