"""The ``cellserve`` command line."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cellserve.exceptions import CellserveError, SettingsError

app = typer.Typer(
    help="Turn a tagged Jupyter notebook into a Ray Serve prediction service.",
    no_args_is_help=True,
    invoke_without_command=True,
    add_completion=False,
)
T = TypeVar("T")
# Never wrapped: a path, a URL or a command printed here must stay whole for whoever copies or parses it.
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """Turn a tagged Jupyter notebook into a Ray Serve prediction service."""
    if version:
        from cellserve import __version__

        out.print(f"cellserve {__version__}")
        raise typer.Exit()


@app.command()
def convert(
    notebook: Annotated[Path, typer.Argument(help="The .ipynb file, with cells tagged cellserve:predict etc.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Bundle directory to write (replaced if it is one).")],
    base_image: Annotated[
        str | None, typer.Option("--base-image", help="Docker base image; default: the official Ray image.")
    ] = None,
) -> None:
    """Write a self-contained Ray Serve bundle for NOTEBOOK into a directory."""
    from cellserve.converter import STEP_MESSAGES
    from cellserve.converter import convert as run_convert

    with err.status("Starting") as status:

        def progress(step: str) -> None:
            status.update(STEP_MESSAGES.get(step, step) + " …")
            err.log(f"[dim]{STEP_MESSAGES.get(step, step)}[/dim]")

        bundle = _guarded(lambda: run_convert(notebook, output, base_image=base_image, progress=progress))
    plan = bundle.plan
    for stage in plan.stages:
        cells = ", ".join(str(p.cell.number) for p in stage.cells) or "none"
        captured = ", ".join(sorted(stage.captured)) or "nothing"
        err.print(
            f"  {stage.role.value:<13} cells {cells}; inputs {', '.join(stage.params) or '-'}; captures {captured}"
        )
    err.print(f"[green]Bundle written.[/green] Serve it with: cd {bundle.path} && serve run serve.yaml")
    out.print(str(bundle.path))


@app.command()
def settings(
    notebook: Annotated[Path, typer.Argument(help="The .ipynb file.")],
    assignments: Annotated[
        list[str] | None,
        typer.Argument(
            help="KEY=VALUE pairs, dotted for groups: batch.max_size=32 predict.num_gpus=0.5 stages=separate. "
            "VALUE is read as JSON where it is JSON (32, null, {...}), as text otherwise.",
            show_default=False,
        ),
    ] = None,
    unset: Annotated[
        list[str] | None, typer.Option("--unset", help="A setting (or group) to remove: its default applies.")
    ] = None,
) -> None:
    """Show NOTEBOOK's cellserve settings, or change them (checked as a publish checks them; the notebook is only
    written when they pass). The same settings as the sidebar's form; `cellserve settings NB batch.max_size=32`
    turns on batching."""
    from cellserve.converter import edit_settings, setting_value

    assign = {}
    for pair in assignments or []:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            err.print(f"[bold red]error:[/bold red] {escape(pair)!r} is not KEY=VALUE (e.g. batch.max_size=32).")
            raise typer.Exit(2)
        assign[key.strip()] = setting_value(text)
    current = _guarded(lambda: edit_settings(notebook, assign, unset or []))
    if assign or unset:
        err.print(f"[green]Saved[/green] {notebook}'s settings (the rest are defaults).", highlight=False)
    _print_json(current)


def _guarded(action: Callable[[], T], *, as_json: bool = False) -> T:
    """Run ``action``; a cellserve error is printed (what, where, what to do) and exits with status 1."""
    try:
        return action()
    except CellserveError as exc:
        if as_json:
            step = getattr(exc, "step", None)
            _print_json({"error": {"type": type(exc).__name__, "message": str(exc), "step": step}})
        else:
            err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None


def main() -> None:
    app()


AddressOption = Annotated[
    str | None,
    typer.Option("--address", help="A Ray cluster's dashboard address (default: $RAY_ADDRESS, else an embedded one)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one machine-readable JSON result.")]


def _quiet_ray() -> None:
    """Ray's SDK logs every package upload at INFO; the progress lines say what matters."""
    for name in ("ray", "ray.dashboard.modules.dashboard_sdk", "ray._private.runtime_env.packaging"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _print_json(data: object) -> None:
    out.print_json(json.dumps(data))


@app.command()
def publish(
    notebook: Annotated[Path, typer.Argument(help="The .ipynb file to publish.")],
    name: Annotated[str | None, typer.Option("--name", help="Service name (default: from the notebook).")] = None,
    address: AddressOption = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds a deploy may take.")] = 600,
    force: Annotated[
        bool,
        typer.Option("--force", help="Run the notebook and publish a new version even if nothing it uses changed."),
    ] = False,
    replay: Annotated[
        int,
        typer.Option(
            "--replay",
            min=0,
            help="Before going live, send the live version's last N logged requests to the new version and compare "
            "the answers; stop if more than replay.max_mismatch differ (needs request_log on the live version).",
        ),
    ] = 0,
    canary: Annotated[
        str | None,
        typer.Option(
            "--canary",
            help="Don't go live: the new version answers this share of the live route's predictions (e.g. 10%); "
            "`cellserve promote NAME` makes it live.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Publish NOTEBOOK as a new version of its service: analyse, capture, bundle, deploy, smoke-test, go live."""
    from cellserve.runtime import publish as run_publish

    _quiet_ray()
    share = None if canary is None else _guarded(lambda: _share(canary), as_json=as_json)
    run = functools.partial(
        run_publish, notebook, name=name, address=address, timeout=timeout, force=force, replay=replay, canary=share
    )
    if as_json:
        result = _guarded(run, as_json=True)
        _print_json(result.to_json())
        return
    with err.status("Starting") as status:
        started = time.perf_counter()

        def progress(step: str, message: str) -> None:
            status.update(f"[bold]{step}[/bold]: {message} …")
            elapsed = time.perf_counter() - started
            err.print(f"[dim]{elapsed:6.1f}s[/dim]  {step:<10} {message}", highlight=False)

        result = _guarded(lambda: run(progress=progress))
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}")
    total = sum(result.timings.values())
    if result.replay is not None:
        err.print(f"replay: {result.replay['requests']} requests, {result.replay['same']} same, "
                  f"{result.replay['different']} different, {result.replay['failed']} failed "
                  f"({result.replay['seconds']:.1f} s)")  # fmt: skip
    if result.canary is not None:
        err.print(f"[green]{result.name} version {result.version} answers {result.canary:.0%} of the predictions"
                  f"[/green] ({total:.1f} s); `cellserve promote {result.name}` makes it live.")  # fmt: skip
    elif result.unchanged:
        err.print(f"[green]{result.name} is unchanged: version {result.version} stays live[/green] ({total:.1f} s).")
    else:
        err.print(f"[green]{result.name} version {result.version} is live[/green] ({total:.1f} s).")
    out.print(f"{result.endpoint}  service page: {result.page}", highlight=False)


@app.command("list")
def list_command(as_json: JsonOption = False) -> None:
    """List published services."""
    from cellserve.runtime import list_services

    rows = _guarded(list_services, as_json=as_json)
    if as_json:
        _print_json(rows)
        return
    table = Table("service", "live version", "versions", "status", "endpoint")
    for row in rows:
        table.add_row(row["name"], str(row["live"] or "-"), str(row["versions"]), row["status"], row["endpoint"] or "")
    out.print(table if rows else "No service published yet: cellserve publish NOTEBOOK")


@app.command()
def status(
    name: Annotated[str | None, typer.Argument(help="A service (default: all).")] = None,
    window: Annotated[
        float,
        typer.Option(
            "--window",
            min=0,
            help="Seconds to watch the traffic of each running version (requests/s, errors, p50/p99, replicas), "
            "from Ray Serve's metrics; 0: don't.",
        ),
    ] = 0,
    as_json: JsonOption = False,
) -> None:
    """Versions, the live one, replicas per stage and their state, endpoint, last error; with --window, live
    traffic."""
    from cellserve.runtime import status as service_status
    from cellserve.runtime import traffic

    if name is None:
        list_command(as_json)
        return
    info = _guarded(lambda: service_status(name), as_json=as_json)
    if window > 0:
        if not as_json:
            err.print(f"Watching {name}'s traffic for {window:g} s …")
        info["traffic"] = _guarded(lambda: traffic(name, window), as_json=as_json)
    if as_json:
        _print_json(info)
        return
    out.print(f"[bold]{info['name']}[/bold]  {info['status']}  live: version {info['live'] or '-'}")
    out.print(
        f"endpoint: {info['endpoint'] or '-'}\npage: {info['page'] or '-'}\ncluster: {info['cluster']}", highlight=False
    )
    for stage, detail in info["stages"].items():
        states = ", ".join(r["state"] for r in detail["replicas"]) or "no replica"
        out.print(f"  {stage:<14} {detail['status']:<10} replicas: {states}")
    table = Table("version", "status", "route", "created", "failed at", "error")
    for version in info["versions"]:
        error = (version["error"] or "").splitlines()[0][:80] if version["error"] else ""
        route = version["route"] or ("not running" if version["status"] != "failed" else "")
        table.add_row(
            str(version["version"]), version["status"], route, version["created"], version["failed_step"] or "", error
        )
    out.print(table)
    if info.get("canary"):
        split = info["canary"]
        out.print(f"canary: version {split['version']} answers {split['share']:.0%} of /{name}'s predictions")
    if "traffic" in info:
        _print_traffic(info["traffic"])


def _share(text: str) -> float:
    """'10%', '10' or '0.1' as a share between 0 and 1 (both excluded)."""
    raw = text.strip().removesuffix("%")
    try:
        number = float(raw)
    except ValueError:
        raise SettingsError(f"Got {text!r} for a canary's share: write a percentage such as 10%.") from None
    share = number / 100 if text.strip().endswith("%") or number >= 1 else number
    if not 0 < share < 1:
        raise SettingsError(f"Got {text!r} for a canary's share: it is more than 0% and less than 100%.")
    return share


def _print_traffic(found: dict[str, Any]) -> None:
    table = Table(f"version (last {found['window_s']:g} s)", "requests/s", "errors", "p50 ms", "p99 ms", "replicas")
    for version, row in found["versions"].items():
        label = version + (" (live)" if row["live"] else "")
        if row.get("canary_share") is not None:
            label += f" (canary, {row['canary_share']:.0%})"
        replicas = "-" if row["replicas"] is None else str(row["replicas"])  # None: not reported by Ray yet
        if not row["traffic"]:
            table.add_row(label, "no traffic", "", "", "", replicas)
            continue
        table.add_row(
            label,
            f"{row['requests_per_s']:g}",
            f"{row['error_rate']:.1%}",
            f"{row['p50_ms']:g}",
            f"{row['p99_ms']:g}",
            replicas,
        )
    out.print(table)


@app.command()
def logs(
    name: Annotated[str, typer.Argument(help="The service.")],
    tail: Annotated[int, typer.Option("--tail", help="Lines per replica.")] = 200,
) -> None:
    """The end of each replica's log."""
    from cellserve.runtime import logs as service_logs

    for replica, text in _guarded(lambda: service_logs(name, tail)).items():
        out.rule(replica)
        out.print(text, markup=False, highlight=False, end="")


@app.command()
def rollback(
    name: Annotated[str, typer.Argument(help="The service.")],
    version: Annotated[int | None, typer.Argument(help="Version to make live (default: the previous one).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Make an earlier version live again."""
    from cellserve.runtime import rollback as run_rollback

    _quiet_ray()
    with err.status(f"Rolling {name} back"):
        result = _guarded(lambda: run_rollback(name, version), as_json=as_json)
    if as_json:
        _print_json(result)
        return
    how = "a switch to its warm replicas" if result["warm"] else "started again from its stored bundle"
    err.print(f"[green]{name} version {result['live']} is live again[/green] ({how}).")
    out.print(result["endpoint"], highlight=False)


@app.command()
def promote(
    name: Annotated[str, typer.Argument(help="The service.")],
    version: Annotated[int | None, typer.Argument(help="Version to make live (default: the canary).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Make a version live (default: the canary); ends the canary split."""
    from cellserve.runtime import promote as run_promote

    _quiet_ray()
    with err.status(f"Promoting {name}"):
        result = _guarded(lambda: run_promote(name, version), as_json=as_json)
    if as_json:
        _print_json(result)
        return
    err.print(f"[green]{name} version {result['live']} is live[/green]; no canary split.")
    out.print(result["endpoint"], highlight=False)


@app.command()
def traffic(
    name: Annotated[str, typer.Argument(help="The service.")],
    canary: Annotated[
        str | None,
        typer.Option("--canary", help="VERSION=SHARE: send e.g. 10% of the live route's predictions to VERSION."),
    ] = None,
    end: Annotated[bool, typer.Option("--end", help="End the canary split: the live version answers all.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Split the live route's traffic: a canary version answers a share of the predictions."""
    from cellserve.runtime import canary as set_canary

    if (canary is None) == (not end):
        _guarded(lambda: _refuse("Give --canary VERSION=SHARE or --end."), as_json=as_json)
    if end:
        result = _guarded(lambda: set_canary(name, None), as_json=as_json)
    else:
        assert canary is not None
        version_text, _, share_text = canary.partition("=")
        if not version_text.strip().isdigit() or not share_text:
            _guarded(lambda: _refuse(f"Got {canary!r} for --canary: write VERSION=SHARE, e.g. 3=10%."), as_json=as_json)
        share = _guarded(lambda: _share(share_text), as_json=as_json)
        result = _guarded(lambda: set_canary(name, int(version_text), share), as_json=as_json)
    if as_json:
        _print_json(result)
        return
    split = result["canary"]
    if split is None:
        err.print(f"[green]{name}: no canary split[/green]; version {result['live']} answers every prediction.")
    else:
        err.print(f"[green]{name}: version {split['version']} answers {split['share']:.0%} of the predictions[/green], "
                  f"version {result['live']} the rest.")  # fmt: skip


def _refuse(message: str) -> None:
    raise SettingsError(message)


@app.command("requests")
def requests_command(
    name: Annotated[str, typer.Argument(help="The service.")],
    last: Annotated[int, typer.Option("--last", min=1, max=10_000, help="How many of the latest requests.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """The service's latest requests with their answers, status and latency (when its request_log is on)."""
    from cellserve.runtime import requests as logged

    found = _guarded(lambda: logged(name, last), as_json=as_json)
    if as_json:
        _print_json(found)
        return
    if not found["enabled"]:
        err.print(
            f"{name} version {found['live']} keeps no request log: set request_log in its notebook's settings "
            "(`cellserve settings NB request_log.max_requests=100`) and publish. Requests may hold personal data."
        )
        return
    table = Table("#", "at", "version", "status", "ms", "request", "answer")
    for entry in found["requests"]:
        request = entry["request"] if entry["request"] is not None else f"({entry['request_bytes']} bytes, not kept)"
        answer = entry["response"] if entry["response"] is not None else f"({entry['response_bytes']} bytes, not kept)"
        table.add_row(str(entry["seq"]), entry["at"], entry["version"], str(entry["status"]),
                      f"{entry['latency_ms']:g}", escape(request), escape(answer))  # fmt: skip
    out.print(table)
    err.print(f"{len(found['requests'])} shown of {found['kept']} kept (at most {found['max_requests']}); "
              f"{found['logged']} logged since the log started.")  # fmt: skip


@app.command()
def token(
    name: Annotated[str, typer.Argument(help="The service.")],
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Make a new token; the live version is redeployed to take it.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show a token-protected service's access token and share link, or replace the token."""
    from cellserve.runtime import token as service_token

    _quiet_ray()
    with err.status(f"Rotating {name}'s token" if rotate else f"Reading {name}'s token"):
        result = _guarded(lambda: service_token(name, rotate=rotate), as_json=as_json)
    if as_json:
        _print_json(result)
        return
    if rotate:
        err.print("[green]New token in force; the old one no longer works.[/green]")
    out.print(f"token: {result['token']}\nshare link: {result['share_link']}", highlight=False)


@app.command()
def delete(name: Annotated[str, typer.Argument(help="The service.")], as_json: JsonOption = False) -> None:
    """Remove a service from its cluster and forget its versions."""
    from cellserve.runtime import delete as run_delete

    _quiet_ray()
    with err.status(f"Deleting {name}"):
        result = _guarded(lambda: run_delete(name), as_json=as_json)
    if as_json:
        _print_json(result)
        return
    err.print(f"[green]{name} deleted.[/green]")


cluster_app = typer.Typer(help="The embedded local Ray cluster cellserve starts when no --address is given.")
app.add_typer(cluster_app, name="cluster")


@cluster_app.command("status")
def cluster_status(as_json: JsonOption = False) -> None:
    """Whether the embedded cluster runs, where, and what each service reserves on it."""
    from cellserve.runtime import cluster_status as embedded_status

    info = _guarded(embedded_status, as_json=as_json)
    if as_json:
        _print_json(info)
        return
    if not info["running"]:
        out.print(info["message"], highlight=False)
        return
    total = info["resources"]
    out.print(
        f"running: dashboard {info['dashboard']}, services on http://{info['http_host']}:{info['http_port']}/ "
        f"({total.get('CPU', 0):g} CPU, {total.get('GPU', 0):g} GPU)",
        highlight=False,
    )
    table = Table("service", "versions running", "CPU", "GPU")
    for name, row in sorted(info["services"].items()):
        table.add_row(name, ", ".join(map(str, sorted(row["versions"]))), f"{row['CPU']:g}", f"{row['GPU']:g}")
    out.print(table if info["services"] else "No service runs on it.")


@cluster_app.command("start")
def cluster_start(
    host: Annotated[
        str | None,
        typer.Option(
            "--host", help="Address the services listen on (default 127.0.0.1; 0.0.0.0 opens them to the network)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Start the embedded cluster if it is not running, and bring back the live version of every service."""
    from cellserve.runtime import embedded_cluster_status, start_embedded_cluster

    started = time.perf_counter()

    def progress(_step: str, message: str) -> None:
        if not as_json:
            err.print(f"[dim]{time.perf_counter() - started:6.1f}s[/dim]  {message}", highlight=False)

    cluster = _guarded(lambda: start_embedded_cluster(progress, host=host), as_json=as_json)
    if as_json:
        _print_json(embedded_cluster_status())
        return
    if cluster.http_host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]warning:[/yellow] services listen on {cluster.http_host}: other machines can reach them.")
    out.print(f"running: services on http://{cluster.http_host}:{cluster.http_port}/", highlight=False)


@cluster_app.command("stop")
def cluster_stop() -> None:
    """Stop the embedded cluster (and every service on it)."""
    from cellserve.runtime import stop_embedded_cluster

    count = stop_embedded_cluster()
    err.print(
        f"Stopped the embedded cluster ({count} processes)." if count else "The embedded cluster was not running."
    )


@app.command()
def build(
    notebook: Annotated[Path, typer.Argument(help="The .ipynb file.")],
    image: Annotated[str, typer.Option("--image", help="Tag of the image to build, e.g. digits:1.")],
    base_image: Annotated[
        str | None, typer.Option("--base-image", help="Base image; default: the official Ray image.")
    ] = None,
    kuberay: Annotated[
        Path | None,
        typer.Option("--kuberay", help="Also write a KubeRay RayService manifest here, e.g. rayservice.yaml."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Build a Docker image that serves NOTEBOOK (docker run --network host IMAGE), and where asked, a KubeRay
    RayService that runs it on Kubernetes."""
    from cellserve.converter import STEP_MESSAGES
    from cellserve.runtime import build_image

    def log(line: str) -> None:
        if not as_json:
            err.print(f"[dim]  | {escape(line)}[/dim]", highlight=False)

    def progress(step: str) -> None:
        if not as_json:
            err.print(f"{STEP_MESSAGES.get(step, 'Building the image')} …")

    result = _guarded(
        lambda: build_image(notebook, image, base_image=base_image, log=log, progress=progress, kuberay=kuberay),
        as_json=as_json,
    )
    if as_json:
        _print_json(dataclasses.asdict(result))
        return
    err.print(f"[green]Built {result.tag}[/green] ({result.size_bytes / 2**20:.0f} MiB, from {result.base_image}).")
    out.print(f"docker run --rm --network host {result.tag}", highlight=False)
    if result.kuberay:
        err.print(
            f"KubeRay RayService written to {result.kuberay}; push {result.tag} where the cluster pulls from, then:"
        )
        out.print(f"kubectl apply -f {result.kuberay}", highlight=False)
