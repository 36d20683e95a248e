"""A notebook model behind plain FastAPI + uvicorn (one worker): ``POST /predict`` with the JSON payload.

Run it (MODEL is digits or wine; it listens on 127.0.0.1 only):

    python bench/peers/fastapi_app.py MODEL PORT
"""

from __future__ import annotations

import sys
from typing import Any

import models
import uvicorn
from fastapi import FastAPI


def create_app(name: str) -> FastAPI:
    """An app serving the example model ``name`` at ``POST /predict`` (torch on one thread, see ``models.load``)."""
    model = models.load(name)
    app = FastAPI(title=f"{name} (FastAPI peer)")

    @app.post("/predict")
    def predict(payload: dict[str, Any]) -> Any:
        return model.predict(payload)

    return app


def main(argv: list[str]) -> None:
    """Serve ``MODEL`` on 127.0.0.1:``PORT`` with one uvicorn worker."""
    if len(argv) != 2:
        sys.exit("usage: fastapi_app.py MODEL PORT")
    name, port = argv
    uvicorn.run(create_app(name), host="127.0.0.1", port=int(port), workers=1)


if __name__ == "__main__":
    main(sys.argv[1:])
