"""The wine example (examples/wine.ipynb): scaling + logistic regression on scikit-learn's wine data.

Training, the example request and the predict path repeat the notebook's cells one for one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler


def _split() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    wine = load_wine(as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(wine.data, wine.target, random_state=0)  # noqa: N806
    return X_train, X_test, y_train, y_test


def train(path: Path) -> None:
    """Fit the notebook's pipeline on its training split and save it with joblib."""
    X_train, _, y_train, _ = _split()  # noqa: N806
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    pipeline.fit(X_train, y_train)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    joblib.dump(pipeline, partial)
    partial.replace(path)


def example() -> dict[str, Any]:
    """The notebook's example request: the first two test wines as records."""
    return {"wines": _split()[1].head(2).to_dict(orient="records")}


class Wine:
    """The fitted pipeline behind the notebook's preprocessing and predict cells."""

    def __init__(self, path: Path) -> None:
        wine = load_wine()
        self.pipeline: Pipeline = joblib.load(path)
        self.columns = list(wine.feature_names)
        self.cultivars = [str(name) for name in wine.target_names]

    def predict(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """``{"wines": [records]}`` → the cultivar of each wine with its probability (4 decimals)."""
        frame = pd.DataFrame(payload["wines"], columns=self.columns)
        probabilities = self.pipeline.predict_proba(frame)
        return [
            {"cultivar": self.cultivars[row.argmax()], "probability": round(float(row.max()), 4)}
            for row in probabilities
        ]
