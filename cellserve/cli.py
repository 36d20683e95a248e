"""The ``cellserve`` command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from cellserve.exceptions import CellserveError

app = typer.Typer(
    help="Turn a tagged Jupyter notebook into a Ray Serve prediction service.",
    no_args_is_help=True,
    invoke_without_command=True,
    add_completion=False,
)
T = TypeVar("T")
err = Console(stderr=True)
out = Console()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """Turn a tagged Jupyter notebook into a Ray Serve prediction service."""
    if version:
        from cellserve import __version__

        out.print(f"cellserve {__version__}")
        raise typer.Exit()


_STEPS = {
    "read": "Reading the notebook",
    "analyse": "Analysing the tagged cells",
    "capture": "Running the notebook and capturing values",
    "generate": "Writing the service",
    "write": "Moving the bundle into place",
}


@app.command()
def convert(
    notebook: Annotated[Path, typer.Argument(help="The .ipynb file, with cells tagged cellserve:predict etc.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Bundle directory to write (replaced if it is one).")],
    base_image: Annotated[
        str | None, typer.Option("--base-image", help="Docker base image; default: the official Ray image.")
    ] = None,
) -> None:
    """Write a self-contained Ray Serve bundle for NOTEBOOK into a directory."""
    from cellserve.converter import convert as run_convert

    with err.status("Starting") as status:

        def progress(step: str) -> None:
            status.update(_STEPS.get(step, step) + " …")
            err.log(f"[dim]{_STEPS.get(step, step)}[/dim]")

        bundle = _guarded(lambda: run_convert(notebook, output, base_image=base_image, progress=progress))
    plan = bundle.plan
    for stage in plan.stages:
        cells = ", ".join(str(p.cell.number) for p in stage.cells) or "none"
        captured = ", ".join(sorted(stage.captured)) or "nothing"
        err.print(
            f"  {stage.role.value:<13} cells {cells}; inputs {', '.join(stage.params) or '-'}; captures {captured}"
        )
    err.print(f"[green]Bundle written.[/green] Serve it with: cd {bundle.path} && serve run serve.yaml")
    out.print(str(bundle.path), soft_wrap=True)


def _guarded(action: Callable[[], T]) -> T:
    """Run ``action``; a cellserve error is printed (what, where, what to do) and exits with status 1."""
    try:
        return action()
    except CellserveError as exc:
        err.print(f"[bold red]error:[/bold red] {exc}", highlight=False, markup=True)
        raise typer.Exit(1) from None


def main() -> None:
    app()
