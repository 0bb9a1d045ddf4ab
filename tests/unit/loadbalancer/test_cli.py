"""`sws lb render` and `sws dns pdns-config`: what an operator prints to check a node."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sws.cli import app

runner = CliRunner()
NODES = (
    '[{"name": "lb-1", "address": "203.0.113.10"}, {"name": "lb-2", "address": "198.51.100.10"}]'
)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWS_HOME", str(tmp_path))
    monkeypatch.setenv("SWS_LB_NODES", NODES)


def test_render_listens_where_the_agent_of_that_node_would() -> None:
    rendered = runner.invoke(app, ["lb", "render", "--node", "lb-2"])
    assert rendered.exit_code == 0, rendered.output
    assert "bind 198.51.100.10:80" in rendered.output and "0.0.0.0" not in rendered.output
    explicit = runner.invoke(app, ["lb", "render", "--bind", "0.0.0.0"])
    assert "bind 0.0.0.0:80" in explicit.output


def test_render_for_a_node_sws_does_not_know_says_so() -> None:
    refused = runner.invoke(app, ["lb", "render", "--node", "lb-9"])
    assert refused.exit_code == 2 and "names no node 'lb-9'" in refused.output


def test_pdns_config_takes_the_socket_dir_of_the_unit() -> None:
    printed = runner.invoke(
        app, ["dns", "pdns-config", "--address", "203.0.113.53", "--socket-dir", "/run/sws-pdns"]
    )
    assert printed.exit_code == 0, printed.output
    assert "local-address=203.0.113.53\n" in printed.output
    assert "socket-dir=/run/sws-pdns\n" in printed.output


def test_the_agent_takes_a_report_interval_and_refuses_a_silly_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sws_agent import lb

    with pytest.raises(SystemExit) as done:
        lb.main(["--help"])
    assert done.value.code == 0 and "--report-interval" in capsys.readouterr().out
    for bad in ("0", "-1", "nan", "soon"):
        with pytest.raises(SystemExit) as refused:
            lb.main(["--report-interval", bad])
        assert refused.value.code == 2, bad
