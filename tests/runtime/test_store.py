"""The local record of services and versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cellserve.exceptions import DeployError, ServiceNotFoundError, SettingsError
from cellserve.runtime import _store as store


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CELLSERVE_HOME", str(tmp_path))
    return tmp_path


def test_save_and_load() -> None:
    record = store.ServiceRecord(name="svc", address="http://h:8265")
    record.versions.append(store.VersionRecord(version=record.next_version()))
    store.save(record)
    loaded = store.load("svc")
    assert loaded.versions[0].version == 1
    assert loaded.next_version() == 2
    assert store.names() == ["svc"]


def test_a_record_written_by_an_earlier_release_still_loads(home: Path) -> None:
    # Earlier releases named the publish step a version failed at "failed_stage".
    folder = home / "services" / "svc"
    folder.mkdir(parents=True)
    older = {
        "name": "svc",
        "address": "http://h:8265",
        "versions": [{"version": 1, "status": "failed", "failed_stage": "smoke-test", "error": "differs"}],
    }
    (folder / "service.json").write_text(json.dumps(older))
    loaded = store.load("svc")
    assert loaded.last_error is not None
    assert (loaded.last_error.failed_step, loaded.last_error.error) == ("smoke-test", "differs")
    store.save(loaded)  # written back under the new name only
    [written] = json.loads((folder / "service.json").read_text())["versions"]
    assert written["failed_step"] == "smoke-test"
    assert "failed_stage" not in written


def test_unknown_service_lists_the_known_ones() -> None:
    store.save(store.ServiceRecord(name="alpha", address=""))
    with pytest.raises(ServiceNotFoundError, match=r"No service named 'beta'.*services: alpha"):
        store.load("beta")


def test_unknown_version() -> None:
    record = store.ServiceRecord(name="svc", address="", versions=[store.VersionRecord(version=1)])
    with pytest.raises(ServiceNotFoundError, match="has no version 7; its versions: 1"):
        record.version(7)


def test_a_second_holder_of_the_lock_is_refused() -> None:
    with store.locked("svc"):
        with pytest.raises(DeployError, match="being published, rolled back or deleted right now") as caught:  # noqa: SIM117
            with store.locked("svc"):
                pass
        assert caught.value.step == "lock"
    with store.locked("svc"):  # released: free again
        pass


def test_prune_keeps_the_newest_bundles_and_the_live_one() -> None:
    record = store.ServiceRecord(name="svc", address="", live=1)
    for number in range(1, 6):
        record.versions.append(store.VersionRecord(version=number))
        store.bundle_dir("svc", number).mkdir(parents=True)
    store.prune(record, keep=2)
    kept = sorted(int(p.name[1:]) for p in store.service_dir("svc").glob("v*"))
    assert kept == [1, 4, 5]
    assert [v.bundle_kept for v in record.versions] == [True, False, False, True, True]


@pytest.mark.parametrize("name", ["digits\n", "../outside", "a/b", "", "UPPER"])
def test_the_runtime_makes_no_path_of_a_name_that_is_not_a_service_name(name: str, home: Path) -> None:
    from cellserve.runtime import delete, rollback, status

    for call in (store.service_dir, status, rollback, delete):
        with pytest.raises(SettingsError, match="is not a service name"):
            call(name)
    assert list(home.iterdir()) in ([], [home / "services"])
