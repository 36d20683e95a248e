"""Deploy this bundle as one Ray Serve application, leaving the cluster's other applications alone.

    python cellserve_deploy.py deploy NAME ROUTE_PREFIX [HTTP_PORT]
    python cellserve_deploy.py delete NAME

cellserve runs this as a Ray job whose working_dir is the bundle, so the code travels to
the cluster and the replicas inherit it; nothing of cellserve is needed there. `deploy`
returns once the application is running and fails if it cannot start.
"""

import json
import sys

from ray import serve


def deploy(name: str, route_prefix: str, http_port: int) -> None:
    serve.start(http_options={"host": "0.0.0.0", "port": http_port})
    import app  # the notebook's cells

    serve.run(app.app, name=name, route_prefix=route_prefix)
    print(json.dumps({"deployed": name, "route_prefix": route_prefix}))


def delete(name: str) -> None:
    serve.delete(name)
    print(json.dumps({"deleted": name}))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "deploy":
        deploy(args[0], args[1], int(args[2]) if len(args) > 2 else 8000)
    elif command == "delete":
        delete(args[0])
    else:
        sys.exit(f"unknown command {command!r}: use deploy or delete")
