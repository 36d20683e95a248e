"""The two example models (examples/digits.ipynb, examples/wine.ipynb), shared by every benchmark peer.

Each model is trained once, exactly as its notebook trains it, and saved in a cache folder
(``$CELLSERVE_BENCH_MODELS``, by default bench/results/.models), so that every peer serves
identical weights: a torch state_dict for digits, a joblib file for wine.

    model = models.load("digits")
    model.predict(models.example("digits"))  # {"digit": 2, "probabilities": [...]}
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

NAMES = ("digits", "wine")
_FILES = {"digits": "digits.pt", "wine": "wine.joblib"}
_DEFAULT_CACHE = Path(__file__).resolve().parent.parent / "results" / ".models"


class Model(Protocol):
    """What a peer serves: a JSON payload in, the notebook's JSON answer out."""

    def predict(self, payload: dict[str, Any]) -> Any: ...


def _check(name: str) -> None:
    if name not in _FILES:
        raise ValueError(f"Got {name!r} for the model name: it must be one of {', '.join(NAMES)}.")


def _module(name: str) -> ModuleType:
    _check(name)
    # Imported on demand, so that a wine server never loads torch.
    return importlib.import_module(f"_{name}")


def cache_dir() -> Path:
    """The folder that holds the trained models ($CELLSERVE_BENCH_MODELS or bench/results/.models)."""
    folder = Path(os.environ.get("CELLSERVE_BENCH_MODELS") or _DEFAULT_CACHE).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def prepare(name: str, cache: Path | None = None) -> Path:
    """The path of the model's file in the cache, training and saving the model first if it is missing."""
    _check(name)
    folder = cache or cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _FILES[name]
    if not path.exists():
        _module(name).train(path)
    return path


def load(name: str, cache: Path | None = None) -> Model:
    """The model ``name`` ("digits" or "wine") loaded from the cache, trained first if missing."""
    path = prepare(name, cache)
    if name == "digits":
        import torch

        # One torch thread in every server: each peer gets the same CPU budget for the network.
        torch.set_num_threads(1)
    model: Model = getattr(_module(name), name.capitalize())(path)
    return model


def example(name: str) -> dict[str, Any]:
    """The notebook's example request for ``name``: the payload its predict cell is written against."""
    answer: dict[str, Any] = _module(name).example()
    return answer
