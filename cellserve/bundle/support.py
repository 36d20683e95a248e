"""Ray Serve plumbing for a cellserve service: HTTP routes, stages and errors.

Every service bundle carries this package as ``cellserve/bundle/``; ``app.py`` holds the notebook's
cells and binds the deployments below (:class:`Preprocessing`, the HTTP ingress, and
:class:`Predict`) into the application. Only Ray Serve (with FastAPI) and cloudpickle
are needed to run it: the rest of cellserve is not.
"""

import asyncio
import contextlib
import copy
import functools
import inspect
import json
import logging
import os
import re
import sys
import time
import traceback
import urllib.request
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import cloudpickle
import ray
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.responses import JSONResponse as _StarletteJSON
from ray import serve
from ray.exceptions import RayActorError
from ray.serve.exceptions import BackPressureError
from ray.serve.handle import DeploymentHandle

from . import page
from .access import COOKIE, Access, owner_refusal
from .canary import FORWARDED, Canary, Forwarder
from .log import Logger
from .request import RequestChecker, RequestError, parse
from .traffic import Reading, add_exposition, figures
from .values import batch_items, cell_of, infer_schema, to_jsonable

logger = logging.getLogger("ray.serve")
CHECK = "x-cellserve-check"  # cellserve's own requests (smoke test, replay): not logged, never split
PINNED_SCOPE = "cellserve.pinned"  # ASGI scope key: the request came by a pinned route (/v/<N>/…)


class JSONResponse(_StarletteJSON):
    """JSON with non-ASCII text escaped: valid for any string a request or a cell holds, lone surrogates too."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def display(*objects: Any, **_: Any) -> None:
    """IPython's display(): in a service, the objects go to the replica's log."""
    for item in objects:
        logger.info("display: %r", item)


@dataclass(frozen=True)
class Batch:
    """Dynamic batching of the predict stage: at most ``max_size`` requests per run of its cells, a request
    waiting at most ``wait_ms`` for others to join it."""

    max_size: int
    wait_ms: float


@dataclass(frozen=True)
class StageSpec:
    """One stage: the function holding its cells and the resources it asks for."""

    name: str
    function: Callable[..., Any]
    setup: Callable[[], None] | None = None
    num_gpus: float = 0
    gpu: str = "required"
    actor_options: dict[str, Any] = field(default_factory=dict)
    deployment_options: dict[str, Any] = field(default_factory=dict)
    max_ongoing: int = 8
    max_queued: int = 64
    batch: Batch | None = None


class OverloadedError(Exception):
    """A replica that works on all it may and has all the waiting requests it may keep refuses one more."""


class Admission:
    """At most ``working`` requests at work in this replica and ``waiting`` more waiting for a turn; one more is
    refused at once (:class:`OverloadedError`), so that a burst gets quick 503s instead of a queue nobody drains."""

    def __init__(self, working: int, waiting: int) -> None:
        self.slots = asyncio.Semaphore(working)
        self.working, self.waiting, self.most_waiting = working, 0, waiting

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self.slots.locked():
            if self.waiting >= self.most_waiting:
                raise OverloadedError
            self.waiting += 1
            try:
                await self.slots.acquire()
            finally:
                self.waiting -= 1
        else:
            await self.slots.acquire()
        try:
            yield
        finally:
            self.slots.release()


RELEASE_ENV = "CELLSERVE_RELEASE"
"""The environment variable of a published version's release (JSON): version, publication time, digests."""


def folder_of(app_file: str) -> Path:
    """The bundle's folder, where its app.py is. Found from app.py, not from this module: a replica may import
    this module from another copy of cellserve ahead of the bundle's on its ``sys.path``."""
    return Path(app_file).resolve().parent


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    notebook: str
    input_variable: str
    root: Path
    request_schema: str | dict[str, Any] = "inferred"
    max_request_bytes: int = 10 * 2**20
    access: str = "public"
    request_timeout_s: float | None = None

    def example(self) -> Any:
        return json.loads((self.root / "example_request.json").read_text())

    def expected(self) -> Any:
        path = self.root / "expected_response.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def release(self) -> dict[str, Any]:
        """Version, publication time and digests of the token and owner key: set by `cellserve publish` in the
        version's environment (the bundle never changes); empty where the bundle runs on its own."""
        return _release()

    def settings(self) -> dict[str, Any]:
        path = self.root / "cellserve.json"
        found: dict[str, Any] = json.loads(path.read_text()).get("settings", {}) if path.is_file() else {}
        return found

    def schema(self) -> dict[str, Any] | None:
        if self.request_schema == "off":
            return None
        if self.request_schema == "inferred":
            inferred: dict[str, Any] = infer_schema(self.example())
            return inferred
        assert isinstance(self.request_schema, dict)
        return dict(self.request_schema)


def _enter_files(root: Path) -> None:
    """Run in files/, where the notebook's files are at their paths relative to the notebook, so that a
    cell's own relative path works (and what it writes stays in the replica)."""
    files = root / "files"
    if files.is_dir() and Path.cwd() != files:
        sys.path[:] = [os.path.abspath(entry or ".") for entry in sys.path]  # imports keep working after the move
        os.chdir(files)


class Stage:
    """Runs one stage's cells inside a replica."""

    def __init__(self, spec: StageSpec, *, run_setup: bool = True) -> None:
        self.spec = spec
        module = sys.modules[spec.function.__module__]
        self.source = Path(module.__file__ or "").resolve()
        root = self.source.parent  # the bundle's folder: the stage functions are in its app.py
        _enter_files(root)
        captured = root / "captured" / f"{spec.name}.pkl"
        if captured.exists():
            module.__dict__.update(cloudpickle.loads(captured.read_bytes()))
        self.gpu_ids = [str(gpu) for gpu in ray.get_gpu_ids()] if ray.is_initialized() else []
        os.environ["CELLSERVE_GPU"] = "1" if self.gpu_ids else "0"
        if run_setup and spec.setup is not None:
            spec.setup()

    def placement(self) -> dict[str, Any]:
        """Where this replica runs: the GPUs Ray gave it and what CUDA sees."""
        return {
            "gpu_ids": self.gpu_ids,
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "node": ray.get_runtime_context().get_node_id() if ray.is_initialized() else None,
        }

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """``{"value": ...}``, or ``{"error": ...}`` naming the exception and the cell that raised it."""
        try:
            return {"value": self.spec.function(**inputs)}
        except Exception as exc:  # user code: report it, keep serving
            return {"error": self.describe(exc)}

    def run_batch(self, handoffs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One run of the cells for a batch: each handed-off value becomes the list of every request's, and the
        answer must be a list with one item per request. Each request's outcome, as :meth:`run` gives it."""
        inputs = {name: [handoff[name] for handoff in handoffs] for name in handoffs[0]}
        outcome = self.run(inputs)
        if "error" in outcome:
            return [copy.deepcopy(outcome) for _ in handoffs]
        items = batch_items(outcome["value"])
        if items is None or len(items) != len(handoffs):
            got = type(outcome["value"]).__name__ if items is None else f"{len(items)} items"
            error = {
                "type": "BatchContractError",
                "message": (
                    f"With batching on, the predict cells answer a list with one item per request; for a batch of "
                    f"{len(handoffs)} they answered {got}."
                ),
                "stage": self.spec.name,
                **self.last_cell(),
            }
            logger.warning("%s: %s", self.spec.name, error["message"])
            return [{"error": dict(error)} for _ in handoffs]
        return [{"value": item} for item in items]

    def last_cell(self) -> dict[str, Any]:
        """The cell whose last expression is the stage's answer."""
        lines, first = inspect.getsourcelines(self.spec.function)
        return dict(cell_of(self.source.read_text(), first + len(lines) - 1))

    def describe(self, exc: BaseException) -> dict[str, Any]:
        error: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc), "stage": self.spec.name}
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == self.source]
        if frames and frames[-1].lineno:
            error.update(cell_of(self.source.read_text(), frames[-1].lineno))
        logger.warning("%s raised %s: %s", self.spec.name, error["type"], error["message"])
        return error


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message, **extra}}, status_code=status, headers=headers)


def _unavailable(exc: Exception) -> JSONResponse:
    """503: the predict stage could not take the request (its replica died, or every one is full)."""
    if isinstance(exc, BackPressureError):
        message = "Every replica of the predict stage is busy; try again shortly."
    else:
        message = "The predict stage's replica stopped while answering; Ray Serve starts another. Try again shortly."
    logger.warning("predict unavailable: %s: %s", type(exc).__name__, exc)
    return _error(503, "unavailable", message, headers={"Retry-After": "1"})


@serve.deployment(name="predict")
class Predict:
    def __init__(self, spec: StageSpec) -> None:
        self.stage = Stage(spec)
        batch = spec.batch
        self.batcher = None if batch is None else Batcher(batch, functools.partial(_answers_of, self.stage))

    def placement(self) -> dict[str, Any]:
        return self.stage.placement()

    async def __call__(self, handoff: dict[str, Any]) -> dict[str, Any]:
        if self.batcher is None:
            return await asyncio.to_thread(_answer_of, self.stage, handoff)
        outcome: dict[str, Any] = await self.batcher(handoff)
        return outcome


class Batcher:
    """Gathers concurrent calls into batches with Ray Serve's ``@serve.batch`` (at most ``max_size``, the first
    waiting at most ``wait_ms`` for others); each batch is one call of ``run_many`` in a worker thread, which
    answers each item in order."""

    def __init__(self, batch: Batch, run_many: Callable[[list[Any]], list[Any]]) -> None:
        self.run_many = run_many
        gather = serve.batch(max_batch_size=batch.max_size, batch_wait_timeout_s=batch.wait_ms / 1000)
        self.submit: Callable[[Any], Any] = gather(self._run)

    async def __call__(self, item: Any) -> Any:
        return await self.submit(item)

    async def _run(self, items: list[Any]) -> list[Any]:
        return await asyncio.to_thread(self.run_many, items)


def _answer_of(stage: Stage, handoff: dict[str, Any]) -> dict[str, Any]:
    """The predict stage's outcome, its value made JSON-able (a value that cannot be is the cell's error)."""
    return _jsonable(stage, stage.run(handoff))


def _answers_of(stage: Stage, handoffs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each request's outcome of one batched run of the predict stage."""
    return [_jsonable(stage, outcome) for outcome in stage.run_batch(handoffs)]


def _jsonable(stage: Stage, outcome: dict[str, Any]) -> dict[str, Any]:
    if "value" in outcome:
        try:
            outcome["value"] = to_jsonable(outcome["value"])
        except TypeError as exc:
            outcome = {"error": stage.describe(exc)}
    return outcome


def _release() -> dict[str, Any]:
    found: dict[str, Any] = json.loads(os.environ.get(RELEASE_ENV) or "{}")
    return found


def _own_version() -> str:
    return str(_release().get("version", ""))


class PinnedVersion:
    """ASGI middleware: ``/v/<N>/…`` are this version's own routes when N is its version, a 404 for
    another N (that version does not run). Every answer says which version gave it."""

    PINNED = re.compile(r"^/v/(\d+)(?=/|$)")

    def __init__(self, app: Any) -> None:
        self.app = app
        self.version = _own_version()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root, path = scope.get("root_path", ""), scope.get("path", "")
        pinned = self.PINNED.match(path[len(root) :] if path.startswith(root) else path)
        if pinned and pinned[1] != self.version:
            message = f"Version {pinned[1]} of this service is not running; version {self.version or '?'} answers here."
            await _error(404, "version_not_running", message)(scope, receive, send)
            return
        if pinned:  # asked of this version by name: never split to a canary
            scope = {**scope, "root_path": root + pinned[0], PINNED_SCOPE: True}

        async def send_with_version(message: dict[str, Any]) -> None:
            headers = message.get("headers", [])
            answered = any(key.lower() == b"x-cellserve-version" for key, _ in headers)  # by a canary
            if message["type"] == "http.response.start" and self.version and not answered:
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-cellserve-version", self.version.encode())],
                }
            await send(message)

        await self.app(scope, receive, send_with_version)


# Everything the deployment classes below use is defined above them: Ray Serve pickles a deployment's class
# when its decorator runs, with the module's names as they are at that moment.


class TrafficWatch:
    """This version's traffic between one look and the next (the page looks every few seconds), from Ray
    Serve's own metrics as every node of the cluster exports them."""

    def __init__(self) -> None:
        self.last: Reading | None = None

    def look(self) -> dict[str, Any]:
        app = serve.get_replica_context().app_name
        now = Reading(at=time.monotonic())
        for node in ray.nodes():
            if node.get("Alive") and node.get("MetricsExportPort"):
                url = f"http://{node['NodeManagerAddress']}:{node['MetricsExportPort']}/metrics"
                with urllib.request.urlopen(url, timeout=5) as answer:  # the cluster's own nodes
                    add_exposition(now, answer.read().decode("utf-8", "replace"))
        before, self.last = self.last, now
        found: dict[str, Any] = figures(now if before is None else before, now, app)
        if before is None:
            found["window_s"] = 0  # the first look: totals, no window yet
        return found


api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
api.add_middleware(PinnedVersion)


def _unauthorized(message: str, request: Request, title: str) -> Response:
    """401: JSON for programs, a short page for a browser that opened a link without its token."""
    headers = {"WWW-Authenticate": 'Bearer realm="cellserve"'}
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(page.unauthorized_page(title, message), status_code=401, headers=headers)
    return JSONResponse({"error": {"type": "unauthorized", "message": message}}, status_code=401, headers=headers)


@serve.deployment(name="preprocessing")
@serve.ingress(api)
class Preprocessing:
    """The HTTP ingress: runs the preprocessing cells, then the predict stage's, either in a deployment of
    their own (``predict`` is its handle) or, when both stages ask for the same resources, right here in the
    same thread (``predict`` is its spec: one deployment, no hop, no copy of the handed-off values)."""

    def __init__(self, predict: DeploymentHandle[Any] | StageSpec, spec: StageSpec, service: ServiceSpec) -> None:
        if isinstance(predict, StageSpec):
            # Both stages' captured values first, then the setup cells once: setup may replace a captured value.
            self.stage = Stage(spec, run_setup=False)
            self.local_predict: Stage | None = Stage(predict, run_setup=False)
            setup = spec.setup or predict.setup
            if setup is not None:
                setup()
            self.predict_stage: DeploymentHandle[Any] | None = None
            # With batching, a batch of requests is read and run in one worker thread: one hop per batch.
            self.batcher = None if predict.batch is None else Batcher(predict.batch, self.read_and_run_batch)
            self.admission = Admission(predict.max_ongoing, predict.max_queued)  # the one deployment has predict's
        else:
            self.stage, self.local_predict, self.predict_stage = Stage(spec), None, predict
            self.batcher = None
            self.admission = Admission(spec.max_ongoing, spec.max_queued)
        self.service = service
        self.schema = service.schema()
        self.checker = RequestChecker(self.schema)
        self.release = service.release()
        # The bundle's files do not change while the replica runs: read them once.
        self.example, self.expected, self.settings = service.example(), service.expected(), service.settings()
        self.access = Access.configure(service.access, self.release.get("token_sha256"))
        self.traffic_watch = TrafficWatch()
        kept = self.settings.get("request_log")
        version = str(self.release.get("version", ""))
        self.request_log = None if not kept else Logger(service.name, version, **kept)
        self.canary: Canary | None = None
        self.forwarder = Forwarder()
        api.title = service.title
        api.version = str(self.release.get("version", "unversioned"))
        api.description = f"Prediction service made by cellserve from {service.notebook}."
        self.openapi = page.add_predict_docs(
            api.openapi(),
            schema=self.schema,
            example=self.example,
            expected=self.expected,
            notebook=service.notebook,
            access=service.access,
        )

    def refusal(self, request: Request, *, query_allowed: bool = False) -> Response | None:
        why = self.access.refusal(
            request.headers.get("authorization"),
            request.query_params.get("token"),
            request.cookies.get(COOKIE),
            query_allowed=query_allowed,
        )
        return _unauthorized(why, request, self.service.title) if why else None

    def keep_token(self, request: Request) -> Response:
        """The share link's token goes into a cookie of the service's path; the browser goes on without it."""
        rest = [(key, value) for key, value in request.query_params.multi_items() if key != "token"]
        response = RedirectResponse(request.url.path + (f"?{urlencode(rest)}" if rest else ""), status_code=303)
        token = request.query_params["token"]
        secure = request.url.scheme == "https"
        path = f"/{self.service.name}"
        response.set_cookie(COOKIE, token, path=path, httponly=True, samesite="strict", secure=secure)
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def reconfigure(self, config: dict[str, Any] | None) -> None:
        """Ray Serve's user_config, changed in place by `cellserve traffic`: the canary, or none."""
        self.canary = Canary.of(config)
        if self.canary is not None:
            share = self.canary.share * 100
            logger.info("Canary: version %s answers %.1f%% of predictions", self.canary.version, share)

    @api.post("/predict")
    async def predict(self, request: Request) -> Response:
        refused = self.refusal(request)
        if refused is not None:
            return refused
        started = time.perf_counter()
        # A canary's share, passed on by the live version, or cellserve's own checks: answered here, as sent, and
        # never logged (each request is logged once, by the live version).
        marked = FORWARDED in request.headers or CHECK in request.headers
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.service.max_request_bytes:
                response: Response = _error(
                    413, "payload_too_large", f"The body is over {self.service.max_request_bytes} bytes."
                )
                break
        else:
            canary = self.canary
            forwarded = None
            pinned = PINNED_SCOPE in request.scope  # asked of this version by name: never split
            if canary is not None and not marked and not pinned and canary.picks():
                forwarded = await self.forwarder.forward(canary, bytes(body), dict(request.headers))
            response = forwarded if forwarded is not None else await self.answer(bytes(body))
        if self.request_log is not None and not marked:
            self.request_log.add(
                bytes(body), response.status_code, bytes(response.body), response.headers.get("x-cellserve-version"),
                started,
            )  # fmt: skip
        return response

    async def answer(self, body: bytes) -> Response:
        """This version's answer to a request's body: the prediction, or an error saying why not."""
        try:
            outcome = await asyncio.wait_for(self.admitted(body), self.service.request_timeout_s)
        except OverloadedError:
            busy = self.admission
            message = (
                f"The service works on {busy.working} requests with {busy.waiting} more waiting; try again shortly."
            )
            return _error(503, "overloaded", message, headers={"Retry-After": "1"})
        except RequestError as problem:
            extra: dict[str, Any] = {"field": problem.field} if problem.field else {}
            return _error(problem.status, problem.kind, problem.message, **extra)
        except TimeoutError:
            return _error(
                504,
                "timeout",
                f"The service did not answer within request_timeout_s ({self.service.request_timeout_s:g} s).",
            )
        except (RayActorError, BackPressureError) as exc:
            return _unavailable(exc)
        except Exception as exc:  # cellserve's or Ray's failure, not the user's code (that is caught in Stage.run)
            logger.exception("predict failed outside the notebook's code")
            return _error(
                500, "internal_error", f"The service failed outside the notebook's code: {type(exc).__name__}."
            )
        if "error" in outcome:
            error = outcome["error"]
            return _error(500, error.pop("type"), error.pop("message"), exception=True, **error)
        return JSONResponse(outcome["value"])

    async def admitted(self, body: bytes) -> dict[str, Any]:
        """The request read and answered in its turn (waiting for it counts towards request_timeout_s): off the
        event loop, in one worker thread where both stages run here."""
        async with self.admission.turn():
            if self.batcher is not None:
                found = await self.batcher(body)
                if isinstance(found, RequestError):
                    raise found
                outcome: dict[str, Any] = found
                return outcome
            if self.local_predict is not None:
                return await asyncio.to_thread(self.read_and_run_both, body)
            outcome = await asyncio.to_thread(self.read_and_preprocess, body)
            if "value" in outcome:
                outcome = await self.call_predict(outcome["value"])
            return outcome

    def read(self, body: bytes) -> Any:
        """The request's JSON, checked against the schema, before any user code."""
        payload = parse(body)
        self.checker.check(payload)
        return payload

    def read_and_preprocess(self, body: bytes) -> dict[str, Any]:
        return self.stage.run({self.service.input_variable: self.read(body)})

    def read_and_run_batch(self, bodies: list[bytes]) -> list[dict[str, Any] | RequestError]:
        """A batch of requests in one worker thread: each read and preprocessed on its own (a malformed one is
        its own 4xx, a preprocessing error its own 500), then one run of the predict cells for the rest."""
        assert self.local_predict is not None
        results: list[dict[str, Any] | RequestError] = []
        handoffs, waiting = [], []
        for body in bodies:
            try:
                outcome = self.read_and_preprocess(body)
            except RequestError as problem:
                results.append(problem)
                continue
            if "value" in outcome:
                handoffs.append(outcome["value"])
                waiting.append(len(results))
            results.append(outcome)
        if handoffs:
            for place, answer in zip(waiting, _answers_of(self.local_predict, handoffs), strict=True):
                results[place] = answer
        return results

    def read_and_run_both(self, body: bytes) -> dict[str, Any]:
        """Read the request, then run both stages in this replica."""
        assert self.local_predict is not None
        outcome = self.read_and_preprocess(body)
        if "value" in outcome:
            outcome = _answer_of(self.local_predict, outcome["value"])
        return outcome

    async def call_predict(self, handoff: Any) -> dict[str, Any]:
        """The predict stage's answer. A request whose replica died under it is sent once more (to another
        replica, or to the one Ray Serve starts instead): the predict cells answer a request, so running
        them again for it is safe. A second death is the caller's 503."""
        assert self.predict_stage is not None
        try:
            outcome: dict[str, Any] = await self.predict_stage.remote(handoff)
        except RayActorError as exc:
            logger.warning("A predict replica died while answering (%s); sending the request once more.", exc)
            outcome = await self.predict_stage.remote(handoff)
        return outcome

    async def placements(self) -> dict[str, dict[str, Any]]:
        here = self.stage.placement()
        predict = here if self.predict_stage is None else await self.predict_stage.placement.remote()
        return {"preprocessing": here, "predict": predict}

    @api.get("/healthz")
    async def healthz(self) -> dict[str, Any]:
        """Healthy or not, and nothing more: asks no replica (it takes no request slot of predict) and shows
        no placement (that is in /info, behind the token where there is one). Ray Serve checks and replaces
        the replicas of both stages itself."""
        return {"status": "ok"}

    @api.get("/", include_in_schema=False)
    async def index(self, request: Request) -> Response:
        """The shareable service page."""
        refused = self.refusal(request, query_allowed=True)
        if refused is not None:
            return refused
        if "token" in request.query_params and not self.access.public:
            return self.keep_token(request)
        nonce = page.nonce()
        info = page.PageInfo(
            name=self.service.name,
            title=self.service.title,
            notebook=self.service.notebook,
            base=request.scope.get("root_path", ""),
            example=self.example,
            expected=self.expected,
            access=self.service.access,
            version=str(self.release.get("version", "unversioned")),
            published=self.release.get("published", "not published by cellserve"),
            stages=page.stage_rows(self.settings, await self.placements()),
            parts=self.service.root / "page",
        )
        origin = f"{request.url.scheme}://{request.url.netloc}"
        return HTMLResponse(page.render_page(info, origin, nonce), headers=page.page_headers(nonce))

    @api.get("/info")
    async def info(self, request: Request) -> Response:
        """The page's facts as JSON: version, publication, access, example, stages."""
        refused = self.refusal(request)
        if refused is not None:
            return refused
        return JSONResponse(
            {
                "service": self.service.name,
                "title": self.service.title,
                "notebook": self.service.notebook,
                "version": self.release.get("version"),
                "published": self.release.get("published"),
                "access": self.service.access,
                "example_request": self.example,
                "settings": self.settings,
                "stages": await self.placements(),
            }
        )

    @api.get("/traffic", include_in_schema=False)
    async def traffic(self, request: Request) -> Response:
        """This version's traffic since the last look: requests/s, error rate, p50/p99 ms, replicas."""
        refused = self.refusal(request)
        if refused is not None:
            return refused
        try:
            found = await asyncio.to_thread(self.traffic_watch.look)
        except Exception as exc:  # Ray's metrics, not the notebook's code
            logger.warning("Could not read Ray's metrics: %s: %s", type(exc).__name__, exc)
            message = f"Ray's metrics could not be read: {type(exc).__name__}."
            return _error(503, "metrics_unavailable", message, headers={"Retry-After": "5"})
        return JSONResponse({"version": self.release.get("version"), **found})

    @api.get("/requests", include_in_schema=False)
    async def requests(self, request: Request, limit: int = 100) -> Response:
        """The request log, newest last, for the service's owner only."""
        why = owner_refusal(request.headers.get("authorization"), self.release.get("owner_sha256"))
        if why is not None:
            return _error(403, "forbidden", why)
        if self.request_log is None:
            return JSONResponse({"enabled": False, "requests": []})
        try:
            found = await self.request_log.last(max(0, min(limit, 10_000)))
        except Exception as exc:  # the log's actor, not the notebook's code
            logger.warning("Could not read the request log: %s: %s", type(exc).__name__, exc)
            return _error(503, "log_unavailable", f"The request log could not be read: {type(exc).__name__}.")
        return JSONResponse({"enabled": True, **found})

    @api.get("/openapi.json", include_in_schema=False)
    async def openapi_document(self, request: Request) -> Response:
        refused = self.refusal(request)
        if refused is not None:
            return refused
        document = copy.deepcopy(self.openapi)
        document["servers"] = [{"url": request.scope.get("root_path", "") or "/"}]
        return JSONResponse(document)

    @api.get("/docs", include_in_schema=False)
    async def docs(self, request: Request) -> Response:
        refused = self.refusal(request)
        if refused is not None:
            return refused
        nonce = page.nonce()
        base = request.scope.get("root_path", "")
        return HTMLResponse(page.render_docs(self.service.title, base, nonce), headers=page.docs_headers(nonce))

    @api.get("/docs/assets/{name}", include_in_schema=False)
    async def docs_asset(self, name: str) -> Response:
        found = page.docs_asset(name)
        if found is None:
            return _error(404, "not_found", f"No docs file {name!r} (is the fastapi-offline package installed?).")
        content, media_type = found
        return Response(content, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})


def deployment_options(spec: StageSpec) -> dict[str, Any]:
    """The stage's deployment options, for ``Deployment.options``; an 'if-available' GPU falls back to CPU on a
    GPU-less cluster.

    serve.yaml holds the same options: `serve run serve.yaml` and `serve.run(app)` agree.
    """
    actor = dict(spec.actor_options)
    if spec.num_gpus:
        available = ray.is_initialized() and ray.cluster_resources().get("GPU", 0) > 0
        where_built = ray.is_initialized() and ray.get_runtime_context().get_actor_id() is None
        if spec.gpu == "if-available" and not available:
            if where_built:  # not again in every replica that imports app.py
                logger.warning("Stage %s asks for a GPU if available; the cluster has none: it runs on CPU.", spec.name)
        else:
            actor["num_gpus"] = spec.num_gpus
    return {"ray_actor_options": actor, **spec.deployment_options}
