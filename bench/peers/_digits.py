"""The digits example (examples/digits.ipynb): a small torch network on scikit-learn's 8x8 digits.

Training, the example request and the predict path repeat the notebook's cells one for one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn


class DigitNet(nn.Module):
    """64 pixels → 64 hidden units (ReLU) → 10 class scores, as the notebook defines it."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)  # type: ignore[no-any-return]


def to_tensor(pixels: Any) -> torch.Tensor:
    """64 pixel values in 0..16 → a (n, 64) float tensor in 0..1."""
    return torch.tensor(np.asarray(pixels, dtype=np.float32).reshape(-1, 64) / 16.0)


def _split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(  # noqa: N806 (the notebook's names)
        digits.data, digits.target, test_size=0.2, random_state=0
    )
    return X_train, X_test, y_train, y_test


def train(path: Path) -> None:
    """Train the network as the notebook does (seed 0, 60 full-batch Adam steps) and save its state_dict."""
    torch.manual_seed(0)
    X_train, _, y_train, _ = _split()  # noqa: N806
    model = DigitNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    inputs, targets = to_tensor(X_train), torch.tensor(y_train)
    for _ in range(60):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save(model.state_dict(), partial)
    partial.replace(path)


def example() -> dict[str, Any]:
    """The notebook's example request: the first test digit."""
    return {"pixels": _split()[1][0].tolist()}


class Digits:
    """The trained network behind the notebook's preprocessing and predict cells."""

    def __init__(self, path: Path) -> None:
        self.model = DigitNet()
        self.model.load_state_dict(torch.load(path, weights_only=True))
        self.model.eval()

    def predict(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``{"pixels": [64 numbers]}`` → the digit and the probability of each class (4 decimals)."""
        x = to_tensor(payload["pixels"])
        with torch.no_grad():
            probabilities = torch.softmax(self.model(x), dim=1)[0]
        return {"digit": int(probabilities.argmax()), "probabilities": [round(p, 4) for p in probabilities.tolist()]}
