"""Publishes run in background threads; the browser polls their progress."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cellserve.converter import CaptureStep
from cellserve.exceptions import CellserveError
from cellserve.runtime import publish

State = Literal["running", "succeeded", "failed"]
KEEP_FINISHED = 50


@dataclass
class Job:
    id: str
    notebook: str
    capture: str
    state: State = "running"
    steps: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    def progress(self, step: str, message: str) -> None:
        self.steps.append({"step": step, "message": message, "elapsed": round(time.monotonic() - self.started, 1)})

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "notebook": self.notebook,
            "capture": self.capture,
            "state": self.state,
            "steps": list(self.steps),
            "result": self.result,
            "error": self.error,
            "elapsed": round((self.finished or time.monotonic()) - self.started, 1),
        }


class Jobs:
    """The server's publishes: started here, run by a small thread pool, kept for polling."""

    def __init__(self, workers: int = 2) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cellserve-publish")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(
        self,
        notebook: Path,
        *,
        label: str,
        address: str | None,
        capture: CaptureStep | None,
        replay: int = 0,
        canary: float | None = None,
    ) -> Job:
        job = Job(uuid.uuid4().hex, label, "live kernel" if capture else "headless")
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        self._executor.submit(self._run, job, notebook, address, capture, replay, canary)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _run(
        self,
        job: Job,
        notebook: Path,
        address: str | None,
        capture: CaptureStep | None,
        replay: int,
        canary: float | None,
    ) -> None:
        try:
            result = publish(
                notebook, address=address, progress=job.progress, capture=capture, replay=replay, canary=canary
            )
        except CellserveError as exc:
            step = getattr(exc, "step", None) or (job.steps[-1]["step"] if job.steps else "analyse")
            job.error = {"message": str(exc), "step": step, "cell": getattr(exc, "cell", None)}
            job.state = "failed"
        except Exception as exc:  # a bug, not the user's: say so rather than hang the panel
            job.error = {"message": f"Unexpected error: {exc!r}", "step": "internal", "cell": None}
            job.state = "failed"
        else:
            job.result = result.to_json()
            job.state = "succeeded"
        job.finished = time.monotonic()

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.state != "running"]
        for old in sorted(finished, key=lambda j: j.started)[:-KEEP_FINISHED]:
            del self._jobs[old.id]

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
