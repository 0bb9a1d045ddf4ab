"""Query parameter types the routes share, each bounded so no value reaches SQL unchecked."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

MAX_OFFSET = 10**9  # far past any list, and well inside the 64-bit integers databases bind

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"0 to {MAX_OFFSET}")]
