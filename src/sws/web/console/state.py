"""What the console keeps for the life of the app: its secret and templates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from sws.bootstrap import Container
from sws.web.console.security import load_secret

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")


@dataclass(frozen=True)
class ConsoleState:
    secret: bytes
    templates: Environment


def build_state(container: Container) -> ConsoleState:
    settings = container.settings
    templates = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    return ConsoleState(
        secret=load_secret(settings.home, settings.console_secret),
        templates=templates,
    )
