"""A notebook model behind a LitServe 0.2 server on CPU, one worker: ``POST /predict`` with the JSON payload.

Run it with .venv-peers' Python (MODEL is digits or wine; it listens on 127.0.0.1 only):

    .venv-peers/bin/python bench/peers/litserve_app.py MODEL PORT
"""

from __future__ import annotations

import sys
from typing import Any

import litserve as ls
import models


class NotebookAPI(ls.LitAPI):  # type: ignore[misc]
    """The notebook's predict path as LitServe's four steps; the payload travels through unchanged."""

    def __init__(self, name: str) -> None:
        super().__init__(api_path="/predict")
        self.name = name

    def setup(self, device: str) -> None:
        # Torch runs on one thread (models.load), the same CPU budget as every other peer.
        self.model = models.load(self.name)

    # LitServe reads the request's type from this parameter's annotation, and the response's from
    # encode_response's return annotation: without them it hands over the parsed JSON body as is and
    # answers with what encode_response returns, as LitServe's documentation shows.
    def decode_request(self, request):  # type: ignore[no-untyped-def]
        return request

    def predict(self, payload: dict[str, Any]) -> Any:
        return self.model.predict(payload)

    def encode_response(self, output: Any):  # type: ignore[no-untyped-def]
        return output


def main(argv: list[str]) -> None:
    """Serve ``MODEL`` on 127.0.0.1:``PORT`` with one inference worker."""
    if len(argv) != 2:
        sys.exit("usage: litserve_app.py MODEL PORT")
    name, port = argv
    server = ls.LitServer(NotebookAPI(name), accelerator="cpu", workers_per_device=1)
    server.run(host="127.0.0.1", port=int(port), generate_client_file=False)


if __name__ == "__main__":
    main(sys.argv[1:])
