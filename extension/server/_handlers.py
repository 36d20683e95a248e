"""REST handlers under <base_url>/cellserve/: check, publish (background), services."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from cellserve.converter import (
    Role,
    ServiceSettings,
    capture_in_kernel,
    check_notebook,
    settings_form_schema,
    settings_problems,
)
from cellserve.exceptions import CellserveError, ServiceNotFoundError
from cellserve.runtime import canary, delete, logs, promote, requests, rollback, status, traffic

from ._jobs import Jobs
from ._paths import InvalidInputError, cluster_address, notebook_path, service_name

NAME = r"(?P<name>[^/]+)"
AUTH_RESOURCE = "cellserve"


class CellserveHandler(APIHandler):
    """JSON in and out; errors are ``{"message", "reason"}`` with a 4xx or 5xx status.

    Every method is authenticated (Jupyter's token or login) and authorized on the resource ``cellserve``:
    reading (settings, check, status, logs, traffic), writing (rollback, delete) and executing (publish, which runs
    the notebook's code), so that a server's authorizer (JupyterHub's scopes) can allow one and not another.
    """

    auth_resource = AUTH_RESOURCE

    @property
    def jobs(self) -> Jobs:
        jobs: Jobs = self.settings["cellserve_jobs"]
        return jobs

    @property
    def root(self) -> Path:
        return Path(self.settings["server_root_dir"]).expanduser().resolve()

    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise InvalidInputError("The request body is not JSON.") from None
        if not isinstance(data, dict):
            raise InvalidInputError("The request body must be a JSON object.")
        return data

    def reply(self, data: object, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def fail(self, status: int, message: str, reason: str) -> None:
        self.reply({"message": message, "reason": reason}, status)

    async def guarded(self, action: Callable[[], Awaitable[None]]) -> None:
        """Map what can go wrong to a JSON answer: bad input 400, unknown service 404, cellserve errors 409."""
        try:
            await action()
        except InvalidInputError as exc:
            self.fail(400, str(exc), "invalid input")
        except ServiceNotFoundError as exc:
            self.fail(404, str(exc), "not found")
        except CellserveError as exc:
            self.fail(409, str(exc), type(exc).__name__)


class SchemaHandler(CellserveHandler):
    @tornado.web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.reply(ServiceSettings.model_json_schema())


class SettingsFormHandler(CellserveHandler):
    """The settings' schema shaped for the sidebar's form (``{"schema": …}``)."""

    @tornado.web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.reply({"schema": settings_form_schema()})


class SettingsProblemsHandler(CellserveHandler):
    """``{"settings": …}`` → ``{"problems": [{"path", "message"}, …]}``: what the settings model says of them."""

    @tornado.web.authenticated
    @authorized("read")
    async def post(self) -> None:
        async def run() -> None:
            data = self.body()
            if "settings" not in data:
                raise InvalidInputError('The request body must hold "settings": the notebook metadata "cellserve".')
            self.reply({"problems": settings_problems(data["settings"])})

        await self.guarded(run)


class ClusterAddressHandler(CellserveHandler):
    """``?address=…``: ``{"error": why publish would refuse it, or null}``."""

    @tornado.web.authenticated
    @authorized("read")
    async def get(self) -> None:
        try:
            cluster_address(self.get_query_argument("address", "", strip=False))  # as publish gets it
        except InvalidInputError as exc:
            self.reply({"error": str(exc)})
            return
        self.reply({"error": None})


class RolesHandler(CellserveHandler):
    """The cell roles in the order the service runs them, each with the tag that gives it a cell
    (``{"roles": [{"name": "setup", "tag": "cellserve:setup"}, …]}``): the converter's own, for the sidebar."""

    @tornado.web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.reply({"roles": [{"name": role.value, "tag": role.tag} for role in Role]})


class CheckHandler(CellserveHandler):
    @tornado.web.authenticated
    @authorized("read")
    async def post(self) -> None:
        async def run() -> None:
            data = self.body()
            path = notebook_path(self.root, data.get("path"))
            self.reply(await asyncio.to_thread(check_notebook, path, data.get("notebook")))

        await self.guarded(run)


class PublishHandler(CellserveHandler):
    @tornado.web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        async def run() -> None:
            data = self.body()
            path = notebook_path(self.root, data.get("path"))
            address = cluster_address(data.get("address"))
            capture = None
            kernel_id = data.get("kernel_id")
            if kernel_id:
                if not isinstance(kernel_id, str) or kernel_id not in self.kernel_manager:
                    raise InvalidInputError(f"No running kernel {kernel_id!r}.")
                connection = self.kernel_manager.get_kernel(kernel_id).get_connection_info(session=False)
                capture = capture_in_kernel(connection)
            replay, share = _count(data.get("replay", 0), "replay", 10_000), _share(data.get("canary"))
            job = self.jobs.start(
                path, label=str(data["path"]), address=address, capture=capture, replay=replay, canary=share
            )
            self.reply(job.to_json(), 202)

        await self.guarded(run)


class PublishJobHandler(CellserveHandler):
    @tornado.web.authenticated
    @authorized("read")
    async def get(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            self.fail(404, f"No publish {job_id!r} on this server (it may have been restarted).", "not found")
            return
        self.reply(job.to_json())


class ServiceHandler(CellserveHandler):
    @tornado.web.authenticated
    @authorized("read")
    async def get(self, name: str) -> None:
        async def run() -> None:
            self.reply(await asyncio.to_thread(status, service_name(name)))

        await self.guarded(run)

    @tornado.web.authenticated
    @authorized("write")
    async def delete(self, name: str) -> None:
        async def run() -> None:
            self.reply(await asyncio.to_thread(delete, service_name(name)))

        await self.guarded(run)


def _count(value: object, key: str, most: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= most:
        raise InvalidInputError(f"{key!r} must be a whole number from 0 to {most}.")
    return value


def _version(value: object) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise InvalidInputError("'version' must be a version number (1, 2, …) or left out.")
    return value


def _share(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < 1:
        raise InvalidInputError("'canary' must be a share of the traffic above 0 and below 1 (0.1 is 10 %).")
    return float(value)


class RollbackHandler(CellserveHandler):
    @tornado.web.authenticated
    @authorized("write")
    async def post(self, name: str) -> None:
        async def run() -> None:
            version = _version(self.body().get("version"))
            self.reply(await asyncio.to_thread(rollback, service_name(name), version))

        await self.guarded(run)


class PromoteHandler(CellserveHandler):
    @tornado.web.authenticated
    @authorized("write")
    async def post(self, name: str) -> None:
        async def run() -> None:
            version = _version(self.body().get("version"))
            self.reply(await asyncio.to_thread(promote, service_name(name), version))

        await self.guarded(run)


class CanaryHandler(CellserveHandler):
    """``{"version": N, "share": 0.1}`` sends a share of the live route's predictions to version N;
    ``{"version": null}`` ends the split."""

    @tornado.web.authenticated
    @authorized("write")
    async def post(self, name: str) -> None:
        async def run() -> None:
            data = self.body()
            version = _version(data.get("version"))
            share = _share(data.get("share")) if version is not None else None
            if version is not None and share is None:
                raise InvalidInputError("'share' is needed with 'version': the share of the traffic it answers.")
            self.reply(await asyncio.to_thread(canary, service_name(name), version, share or 0.0))

        await self.guarded(run)


class RequestsHandler(CellserveHandler):
    """The service's request log (its requests may hold personal data: reading it is the owner's)."""

    @tornado.web.authenticated
    @authorized("read")
    async def get(self, name: str) -> None:
        async def run() -> None:
            last = self.get_argument("last", "20")
            if not last.isdigit() or not 1 <= int(last) <= 10_000:
                raise InvalidInputError("'last' must be a number of requests from 1 to 10000.")
            self.reply(await asyncio.to_thread(requests, service_name(name), int(last)))

        await self.guarded(run)


class LogsHandler(CellserveHandler):
    @tornado.web.authenticated
    @authorized("read")
    async def get(self, name: str) -> None:
        async def run() -> None:
            tail = self.get_argument("tail", "200")
            if not tail.isdigit() or not 1 <= int(tail) <= 10_000:
                raise InvalidInputError("'tail' must be a number of lines from 1 to 10000.")
            self.reply(await asyncio.to_thread(logs, service_name(name), int(tail)))

        await self.guarded(run)


class TrafficHandler(CellserveHandler):
    @tornado.web.authenticated
    @authorized("read")
    async def get(self, name: str) -> None:
        async def run() -> None:
            window = self.get_argument("window", "5")
            try:
                seconds = float(window)
            except ValueError:
                seconds = -1.0
            if not 1 <= seconds <= 60:
                raise InvalidInputError("'window' must be a number of seconds from 1 to 60.")
            self.reply(await asyncio.to_thread(traffic, service_name(name), seconds))

        await self.guarded(run)


def register(server_app: Any) -> None:
    web_app = server_app.web_app
    web_app.settings["cellserve_jobs"] = Jobs()
    base = url_path_join(web_app.settings["base_url"], "cellserve")
    routes: list[tuple[str, type[CellserveHandler]]] = [
        ("settings/schema", SchemaHandler),
        ("settings/form", SettingsFormHandler),
        ("settings/problems", SettingsProblemsHandler),
        ("check", CheckHandler),
        ("cluster-address", ClusterAddressHandler),
        ("roles", RolesHandler),
        ("publish", PublishHandler),
        (r"publish/(?P<job_id>[0-9a-f]+)", PublishJobHandler),
        (rf"services/{NAME}", ServiceHandler),
        (rf"services/{NAME}/rollback", RollbackHandler),
        (rf"services/{NAME}/promote", PromoteHandler),
        (rf"services/{NAME}/canary", CanaryHandler),
        (rf"services/{NAME}/requests", RequestsHandler),
        (rf"services/{NAME}/logs", LogsHandler),
        (rf"services/{NAME}/traffic", TrafficHandler),
    ]
    web_app.add_handlers(".*$", [(url_path_join(base, path), handler) for path, handler in routes])
