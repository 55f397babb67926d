"""``ingestd templates list|show|export|import`` and ``ingestd mapping queue``, on the SDK
(docs/templates.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ingestd.cli.connect import Key, Url, connected

app = typer.Typer(
    help="List, show, export and import templates for tabular files.",
    no_args_is_help=True,
    add_completion=False,
)
mapping = typer.Typer(
    help="The files waiting for a template mapping.", no_args_is_help=True, add_completion=False
)


@mapping.callback()
def _mapping() -> None:
    """The files waiting for a template mapping."""


TemplateId = Annotated[str, typer.Argument(help="the template (tpl_…)", show_default=False)]


@app.command("list")
def list_templates(
    status: Annotated[
        str | None, typer.Option(help="e.g. discovered,pending_approval,approved")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="how many")] = 50,
    url: Url = None,
    key: Key = None,
) -> None:
    """Templates with their status, version, files, rows and valid-row rate."""
    from rich.text import Text

    from ingestd.cli.console import stdout
    from ingestd.cli.render import fitted, table

    with connected(url, key) as client:
        templates = list(client.templates.list(status=status, limit=limit))
    grid = table("id", "status", "v", "files", "rows", "valid", "name")
    for t in templates:
        rate = t.usage.valid_rate
        grid.add_row(
            t.id,
            t.status,
            str(t.current_version),
            str(t.usage.files),
            f"{t.usage.rows:,}",
            "-" if rate is None else f"{100 * rate:.1f}%",
            Text(t.name),
        )
    out = stdout()
    out.print(fitted(grid, out.width, give_way=("name", "rows")))


@app.command("show")
def show(template_id: TemplateId, url: Url = None, key: Key = None) -> None:
    """One template with its current version, as JSON."""
    from ingestd.cli.console import stdout

    with connected(url, key) as client:
        template = client.templates.get(template_id)
    stdout().print_json(data=template.raw)


@app.command("export")
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write here (default: standard output)")
    ] = None,
    url: Url = None,
    key: Key = None,
) -> None:
    """Every template of your tenant with all its versions, as JSON."""
    from ingestd.cli.console import stdout

    with connected(url, key) as client:
        document = client.templates.export()
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if output is None:
        typer.echo(text)
        return
    output.write_text(text + "\n", encoding="utf-8")
    stdout().print(f"{len(document['templates'])} template(s) written to {output}", highlight=False)


@app.command("import")
def import_templates(
    path: Annotated[Path, typer.Argument(help="an export file", exists=True, dir_okay=False)],
    url: Url = None,
    key: Key = None,
) -> None:
    """Import templates from an export file (an admin key): each with all its versions."""
    from ingestd.cli.console import stdout

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"{path} is not a JSON export: {exc}") from None
    with connected(url, key) as client:
        result = client.templates.import_(document)
    stdout().print(f"imported {result.imported} template(s)", highlight=False)
    for item in result.items:
        stdout().print(f"  {item['id']}  {item['name']}", highlight=False)


@mapping.command("queue")
def queue(
    limit: Annotated[int, typer.Option(min=1, help="how many")] = 50,
    url: Url = None,
    key: Key = None,
) -> None:
    """Files waiting for a mapping: the table, its template, and each column's best suggestion."""
    from rich.text import Text

    from ingestd.cli.console import stdout

    with connected(url, key) as client:
        items = list(client.mapping.queue(limit=limit))
    out = stdout()
    if not items:
        out.print("no file waits for a mapping", highlight=False)
        return
    for item in items:
        out.print(Text(f"{item.file_id}  {item.name} ({item.location})"))
        out.print(f"  waits on {item.template_id} v{item.version}", highlight=False)
        best = {s.column: s.suggestions[0] for s in item.suggestions if s.suggestions}
        for column in item.signature.columns:
            line = f"  {column.name} ({column.type})"
            if column.name in best:
                line += f" → {best[column.name].field} {best[column.name].confidence:.2f}"
            out.print(Text(line))
