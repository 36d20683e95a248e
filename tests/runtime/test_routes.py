"""Versions as Serve applications, the route switch and placement, on plain values (no cluster)."""

from __future__ import annotations

import pytest

from cellserve.runtime import _routes as routes
from cellserve.runtime._capacity import fits


def app(service: str, version: int, route: str) -> dict[str, object]:
    return {"name": routes.app_name(service, version), "route_prefix": route, "import_path": "app:app"}


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("calc_v3", ("calc", 3)),
        ("my-svc_v12", ("my-svc", 12)),
        ("calc", None),
        ("calc_vx", None),
        ("Calc_v1", None),
        ("-calc_v1", None),  # not a name cellserve gives: another program's application
        ("calc_v1\n", None),
    ],
)
def test_application_names(name: str, parsed: tuple[str, int] | None) -> None:
    assert routes.parse_app(name) == parsed


def test_a_canary_changes_only_the_ingress_user_config_and_a_switch_ends_it() -> None:
    ingress = {"name": "service", "num_replicas": 2, "max_ongoing_requests": 8, "ray_actor_options": {"num_cpus": 1}}
    live = {**app("calc", 1, "/calc"), "deployments": [ingress]}
    split = {"version": 2, "share": 0.1, "url": "http://127.0.0.1:8000/calc/v/2"}
    with_split = routes.with_canary(live, "service", split)
    # Every option the bundle's serve.yaml gave the ingress stays: Serve reconfigures, it restarts nothing.
    assert with_split["deployments"] == [{**ingress, "user_config": {"canary": split}}]
    assert routes.canary_of(with_split) == split
    assert routes.canary_of(live) is None
    # An application whose serve.yaml lists no deployments gets an entry with the user_config alone.
    bare = routes.with_canary(app("calc", 1, "/calc"), "preprocessing", split)
    assert bare["deployments"] == [{"name": "preprocessing", "user_config": {"canary": split}}]

    ended = routes.switched([with_split, app("calc", 2, "/calc/v/2")], "calc", 2)
    assert [routes.canary_of(a) for a in ended] == [None, None]
    assert ended[0]["deployments"][0]["num_replicas"] == 2
    assert routes.without_canary(live) is live


def test_switch_moves_only_the_services_routes() -> None:
    apps = [app("calc", 1, "/calc"), app("calc", 2, "/calc/v/2"), app("other", 1, "/other")]
    switched = routes.switched(apps, "calc", 2)
    assert [(a["name"], a["route_prefix"]) for a in switched] == [
        ("calc_v1", "/calc/v/1"),
        ("calc_v2", "/calc"),
        ("other_v1", "/other"),
    ]
    assert routes.live_version(switched, "calc") == 2
    assert routes.live_version(apps, "calc") == 1
    assert apps[0]["route_prefix"] == "/calc"  # the input is left as it was


@pytest.mark.parametrize(
    ("running", "live", "keep", "previous", "stopped"),
    [
        ([1, 2, 3], 3, 1, 2, {"calc_v1"}),
        ([1, 2, 3], 3, 0, 2, {"calc_v1", "calc_v2"}),
        ([1, 2, 3], 3, 2, 2, set()),
        # After a rollback to 1, version 1 was live before 4: it is the one kept warm, not the newer 3.
        ([1, 3, 4], 4, 1, 1, {"calc_v3"}),
        ([4], 4, 1, None, set()),
    ],
)
def test_warm_versions_kept(running: list[int], live: int, keep: int, previous: int | None, stopped: set[str]) -> None:
    apps = [app("calc", n, "/calc" if n == live else f"/calc/v/{n}") for n in running] + [app("other", 1, "/other")]
    assert routes.beyond_warm(apps, "calc", live, keep, previous) == stopped


@pytest.mark.parametrize(
    ("free", "replicas", "expected"),
    [
        ({"a": 4.0}, [0.25, 0.25], True),
        ({"a": 3.0}, [1.9, 1.9], False),  # 3.8 CPU, and no node has room for both
        ({"a": 2.0, "b": 2.0}, [1.9, 1.9], True),
        ({"a": 3.1, "b": 0.5}, [1.9, 1.9], False),  # enough in sum, not per node
        ({}, [0.25], False),
    ],
)
def test_a_version_fits_when_each_replica_finds_a_node(
    free: dict[str, float], replicas: list[float], expected: bool
) -> None:
    assert fits(free, replicas) is expected
