"""The proxies' distribution (packaging/swift-middleware) stays small: sws_swift imports only
the standard library, Swift and itself, and the wheel declares no dependency.

Building and installing the wheel into a fresh venv is tested against the real Swift rig
(tests/integration/swift/test_storage_firewall_doc.py); this catches a stray import at once.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PACKAGE = REPO / "src" / "sws_swift"
ALLOWED = {"swift", "sws_swift", "__future__"}


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_sws_swift_imports_only_the_standard_library_swift_and_itself() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        foreign = imported(path) - ALLOWED - set(sys.stdlib_module_names)
        assert not foreign, f"{path.name} imports {sorted(foreign)}"


def test_the_proxy_wheel_depends_on_nothing_and_offers_both_filters() -> None:
    proxy = tomllib.loads((REPO / "packaging" / "swift-middleware" / "pyproject.toml").read_text())
    main = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert proxy["project"]["name"] == "sws-swift-middleware"
    assert proxy["project"]["dependencies"] == []
    assert proxy["project"]["version"] == main["project"]["version"]
    filters = proxy["project"]["entry-points"]["paste.filter_factory"]
    assert filters == main["project"]["entry-points"]["paste.filter_factory"]
    assert set(filters) == {"sws_firewall", "sws_usage"}


def test_the_distribution_name_is_ours_not_pypis_sws() -> None:
    main = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert main["project"]["name"] == "sws-cloud"
