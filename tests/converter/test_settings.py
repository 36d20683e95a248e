"""Service settings from notebook metadata: every invalid value is named."""

from __future__ import annotations

from typing import Any

import pytest

from cellserve.converter import ServiceSettings, is_service_name, parse_settings
from cellserve.exceptions import SettingsError


def test_defaults() -> None:
    settings = parse_settings(None, source="nb.ipynb")
    assert settings.input_variable == "payload"
    assert settings.predict.num_gpus == 0
    assert settings.predict.min_replicas == settings.predict.max_replicas == 1


@pytest.mark.parametrize(
    "raw",
    [
        {"predict": {"num_gpus": 0.5, "gpu": "if-available"}},
        {"preprocessing": {"num_cpus": 0.25, "min_replicas": 1, "max_replicas": 4}},
        {"name": "my-model-2", "input_variable": "request_body"},
        {"request_schema": "off"},
        {"request_schema": {"type": "object", "required": ["a"]}},
        {"predict": {"memory": 2_000_000_000, "max_ongoing_requests": 4, "target_ongoing_requests": 1.5}},
        {"files": {"include": ["tokenizer", "data/lookup.csv"], "exclude": ["/mnt/models", "big.bin"]}},
        {"files": {"max_total_mb": 500}},
        {"stages": "separate", "predict": {"max_queued_requests": 0}},
        {"batch": {"max_size": 32, "wait_ms": 5}},
        {"batch": {"max_size": 2}, "stages": "separate"},
    ],
)
def test_valid_settings(raw: dict[str, Any]) -> None:
    assert isinstance(parse_settings(raw, source="nb.ipynb"), ServiceSettings)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"predict": {"num_gpus": "abc"}}, "got 'abc' for predict.num_gpus"),
        ({"predict": {"num_gpus": -1}}, "got -1 for predict.num_gpus"),
        ({"predict": {"gpu": "maybe"}}, "predict.gpu"),
        ({"predict": {"min_replicas": 3, "max_replicas": 2}}, "min_replicas (3) is larger than max_replicas (2)"),
        ({"predict": {"gpus": 1}}, "unknown setting 'predict.gpus'"),
        ({"colour": "blue"}, "unknown setting 'colour'"),
        ({"name": "Bad Name!"}, "got 'Bad Name!' for name"),
        ({"input_variable": "class"}, "it must be a Python identifier"),
        ({"max_request_bytes": 0}, "max_request_bytes"),
        ({"request_schema": "sometimes"}, "request_schema"),
        ({"request_schema": {"type": "thing"}}, "request_schema: it is not a valid JSON Schema"),
        ({"request_timeout_s": 0}, "request_timeout_s"),
        (
            {"files": {"include": ["/etc/passwd"]}},
            "got ['/etc/passwd'] for files.include: '/etc/passwd' must be a path",
        ),
        ({"files": {"include": ["../secrets"]}}, "files.include: '../secrets' must be a path inside the notebook's"),
        ({"files": {"exclude": [""]}}, "files.exclude: an empty path names nothing"),
        ({"files": {"max_total_mb": 600}}, "files.max_total_mb"),
        ({"files": {"inclde": ["x"]}}, "unknown setting 'files.inclde'"),
        ({"stages": "two"}, "got 'two' for stages"),
        ({"predict": {"max_queued_requests": -1}}, "got -1 for predict.max_queued_requests"),
        ({"batch": {"wait_ms": 5}}, "batch.max_size: Field required"),
        ({"batch": {"max_size": 1}}, "got 1 for batch.max_size"),
        ({"batch": {"max_size": 8, "wait_ms": -1}}, "got -1 for batch.wait_ms"),
        ({"batch": {"max_size": 8, "timeout": 1}}, "unknown setting 'batch.timeout'"),
    ],
)
def test_invalid_settings_name_the_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings(raw, source="nb.ipynb")
    assert "nb.ipynb" in str(caught.value)
    assert message in str(caught.value)


def test_settings_must_be_an_object() -> None:
    with pytest.raises(SettingsError, match="must be an object"):
        parse_settings(["predict"], source="nb.ipynb")


def test_json_schema_for_the_panel_describes_every_field() -> None:
    schema = ServiceSettings.model_json_schema()
    stage = schema["$defs"]["StageSettings"]["properties"]
    assert {"num_gpus", "gpu", "num_cpus", "memory", "min_replicas", "max_replicas"} <= set(stage)
    assert all("description" in field for field in stage.values())
    files = schema["$defs"]["FileSettings"]["properties"]
    assert set(files) == {"include", "exclude", "max_total_mb"}
    assert all("description" in field for field in files.values())


@pytest.mark.parametrize("name", ["digits", "a", "my-model-2", "x" * 63])
def test_service_names(name: str) -> None:
    assert is_service_name(name)


@pytest.mark.parametrize("name", ["digits\n", "Digits", "-a", "a-", "../etc", "a/b", "a_b", "", "x" * 64, " digits", 7])
def test_what_is_not_a_service_name(name: object) -> None:
    assert not is_service_name(name)
    with pytest.raises(SettingsError, match="name"):
        parse_settings({"name": name}, source="nb.ipynb")


GPU_IF_AVAILABLE = {"num_gpus": 0.5, "gpu": "if-available"}


@pytest.mark.parametrize(
    ("raw", "one"),
    [
        ({}, True),  # the same resources: one deployment, no hop
        ({"predict": {"num_cpus": 1}, "preprocessing": {"num_cpus": 1}}, True),
        ({"predict": {"num_cpus": 1}}, False),  # different resources: two
        ({"predict": {"min_replicas": 2, "max_replicas": 2}}, False),
        ({"predict": {"num_gpus": 1}}, False),  # a GPU predict beside a CPU preprocessing
        ({"predict": GPU_IF_AVAILABLE}, None),  # one on a cluster without GPUs, two with: decided at start
        ({"predict": {**GPU_IF_AVAILABLE, "num_cpus": 2}}, False),  # two either way
        ({"predict": GPU_IF_AVAILABLE, "preprocessing": GPU_IF_AVAILABLE}, True),
        ({"stages": "one", "predict": {"num_gpus": 1}}, True),
        ({"stages": "separate"}, False),
    ],
)
def test_stages_run_as_one_deployment_when_they_ask_for_the_same(raw: dict[str, Any], one: bool | None) -> None:
    settings = parse_settings(raw, source="nb.ipynb")
    assert settings.one_deployment() is one
    # What the capacity and preflight checks count: one deployment's settings, or both stages' (also where
    # the start decides, the larger case).
    assert settings.deployed_stages() == (("predict",) if one else ("preprocessing", "predict"))


def test_a_replica_takes_its_waiting_requests_and_their_refusals_from_ray_serve() -> None:
    stage = parse_settings({"predict": {"max_ongoing_requests": 4, "max_queued_requests": 10}}, source="nb").predict
    options = stage.deployment_options()
    # Ray Serve hands the replica those at work, those waiting and as many again (refused with a 503 at once):
    # its own router queues nothing while the replica has room.
    assert options["max_ongoing_requests"] == 4 + 10 + 10
    assert options["max_queued_requests"] == 4 + 10 + 10  # a burst that large reaches the replica
    assert options["backpressure_config"] == {"retry_after_s": 1}


def test_a_batched_predict_stage_may_work_on_a_whole_batch_at_once() -> None:
    small = parse_settings({"batch": {"max_size": 32}}, source="nb.ipynb")
    assert small.stage("predict").max_ongoing_requests == 32  # raised from the default 8
    assert small.stage("preprocessing").max_ongoing_requests == 8
    assert small.predict.max_ongoing_requests == 8  # the notebook's own settings are left as they are
    roomy = parse_settings({"batch": {"max_size": 4}, "predict": {"max_ongoing_requests": 16}}, source="nb.ipynb")
    assert roomy.stage("predict").max_ongoing_requests == 16
    assert parse_settings({}, source="nb.ipynb").stage("predict") == ServiceSettings().predict
