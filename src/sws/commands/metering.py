"""`sws metrics`: import samples from JSON lines and query a metric's rollups."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sws.commands import common
from sws.metering import service
from sws.metering.model import Retention, SeriesQuery

app = typer.Typer(help="Metering: import samples, query metrics.", no_args_is_help=True)
console = Console()


@app.command("import")
def import_samples(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import samples: one JSON object per line with resource_id, meter, timestamp, value, unit,
    type (gauge, cumulative or delta), and project_id for a resource SWS does not know yet."""
    container = common.container()
    with path.open(encoding="utf-8", errors="replace") as lines:
        retention = container.metering.schedule.retention if container.metering else None
        report = service.import_jsonl(
            db=container.db, clock=container.clock, lines=lines,
            retention=retention or Retention(),
        )
    console.print(
        f"accepted {report.accepted}, baselines {report.baselines}, "
        f"duplicates {report.duplicates}, rejected {report.rejected_total}"
    )
    for reason, count in report.rejected.most_common():
        console.print(f"  rejected {count}: {reason}")
    for number, reason in report.first_rejections[:5]:
        console.print(f"  line {number}: {reason}")
    if report.rejected_total:
        raise typer.Exit(code=1)


def _moment(text: str, name: str) -> datetime:
    return common.moment(
        text, field=name, detail=lambda error: f"{name} must be ISO 8601 with a zone: {error}"
    )


@app.command("query")
def query(
    resource: str,
    meter: str,
    start: Annotated[str, typer.Option("--from", help="ISO 8601 with a zone, e.g. ...Z")],
    end: Annotated[str, typer.Option("--to", help="ISO 8601 with a zone")],
    granularity: Annotated[str, typer.Option(help="60, 300, 3600, 86400 or 1m/5m/1h/1d")] = "300",
    aggregate: Annotated[str, typer.Option(help="min max mean sum count last")] = "mean",
    device: Annotated[str, typer.Option(help="a disk or vNIC; empty: the instance")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """One metric's aggregate per window over [from, to), in UTC (any project: operator tool)."""
    container = common.container()

    def series() -> service.Series:
        request = SeriesQuery.build(
            _moment(start, "from"), _moment(end, "to"), granularity, aggregate
        )
        return service.query(db=container.db, project_id=None, resource_id=resource,
                             meter=meter, request=request, device=device)

    found = common.run(series)
    if as_json:
        points = [{"timestamp": at.isoformat(), "value": value} for at, value in found.points]
        typer.echo(json.dumps({"resource_id": resource, "meter": meter, "unit": found.unit,
                               "granularity": found.granularity, "aggregate": found.aggregate,
                               "points": points}))
        return
    table = Table("window start (UTC)", f"{aggregate} ({found.unit})")
    for at, value in found.points:
        table.add_row(at.isoformat(), f"{value:g}")
    console.print(table)
