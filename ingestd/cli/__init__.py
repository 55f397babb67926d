"""The ``ingestd`` command line."""

from __future__ import annotations

import typer

from ingestd.cli import blob_gc, jobs, keys, search, serve, submit

app = typer.Typer(
    name="ingestd",
    help="Self-hosted document ingestion: submit folders and files, watch them, control them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.command("worker")(serve.worker)
app.command("migrate")(serve.migrate)
app.add_typer(keys.app, name="keys")
app.command("submit")(submit.submit)
app.command("watch")(submit.watch)
app.add_typer(jobs.app, name="jobs")
app.command("files")(jobs.files)
app.command("search")(search.search)
app.command("gc")(blob_gc.gc)


def main() -> None:
    app()


__all__ = ["app", "main"]
