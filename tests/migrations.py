"""A migration module's source, for tests that make a release's migrations of their own."""

from __future__ import annotations

from pathlib import Path


def write_revision(versions: Path, name: str, down: str, body: str, *, contract: bool) -> None:
    """`versions/<name>.py`: one revision after `down` whose upgrade is the one line `body`."""
    (versions / f"{name}.py").write_text(
        f'"""{name}"""\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f'revision = "{name}"\ndown_revision = "{down}"\nbranch_labels = None\n'
        f"depends_on = None\ncontract = {contract}\n\n\n"
        f"def upgrade() -> None:\n    {body}\n\n\ndef downgrade() -> None:\n    pass\n"
    )
