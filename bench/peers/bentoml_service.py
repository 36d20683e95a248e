"""The notebook models as BentoML 1.4 services, one class per model, each one worker: ``POST /predict``.

    .venv-peers/bin/bentoml serve --working-dir bench/peers bentoml_service:Digits --host 127.0.0.1 --port PORT
    .venv-peers/bin/bentoml serve --working-dir bench/peers bentoml_service:Wine --host 127.0.0.1 --port PORT

BentoML reads the JSON body's fields into the API method's parameters, so each class declares the
field of its notebook's payload (``pixels``, ``wines``). Torch runs on one thread (``models.load``).
"""

from __future__ import annotations

from typing import Any

import bentoml
import models


@bentoml.service(workers=1)
class Digits:
    """The digits network: ``{"pixels": [64 numbers]}`` → the digit and the class probabilities."""

    def __init__(self) -> None:
        self.model = models.load("digits")

    @bentoml.api
    def predict(self, pixels: list[float]) -> dict[str, Any]:
        answer: dict[str, Any] = self.model.predict({"pixels": pixels})
        return answer


@bentoml.service(workers=1)
class Wine:
    """The wine pipeline: ``{"wines": [records]}`` → the cultivar of each wine with its probability."""

    def __init__(self) -> None:
        self.model = models.load("wine")

    @bentoml.api
    def predict(self, wines: list[dict[str, float]]) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = self.model.predict({"wines": wines})
        return answer
