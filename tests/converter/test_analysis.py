"""What each stage needs, found from the tagged cells; and every analysis error."""

from __future__ import annotations

from pathlib import Path

import pytest

from cellserve.converter import Plan, analyse, read_notebook
from cellserve.converter._generate import render_app
from cellserve.exceptions import AnalysisError
from tests.notebooks import make_notebook

Cells = list[tuple[str, str | None]]


def plan_of(tmp_path: Path, cells: Cells, settings: dict[str, object] | None = None) -> Plan:
    return analyse(read_notebook(make_notebook(tmp_path / "nb.ipynb", cells, settings)))


def test_imports_are_hoisted_and_values_captured(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        [
            ("import numpy as np\nimport os, json\nweights = np.ones(3)", None),
            ("x = np.asarray(payload['v'])", "preprocessing"),
            ("float(x @ weights)", "predict"),
        ],
    )
    assert [d.import_line() for d in plan.imports] == ["import numpy as np"]
    assert plan.preprocessing.params == ["payload"]
    assert plan.preprocessing.returns == ["x"]
    assert plan.predict.params == ["x"]
    assert set(plan.predict.captured) == {"weights"}
    assert plan.preprocessing.captured == {}


def test_functions_are_carried_transitively(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        [
            ("import math\nSCALE = 2", None),
            ("def helper(v):\n    return math.sqrt(v) * SCALE", None),
            ("def unused():\n    return 0", None),
            ("class Model:\n    def run(self, v):\n        return helper(v)", None),
            ("Model().run(payload)", "predict"),
        ],
    )
    assert sorted(d.name for d in plan.carried) == ["Model", "helper"]
    assert [d.import_line() for d in plan.imports] == ["import math"]
    assert set(plan.predict.captured) == {"SCALE"}


def test_definition_needing_a_value_at_definition_time_is_captured(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        [("factor = 3", None), ("def scale(v, f=factor):\n    return v * f", None), ("scale(payload)", "predict")],
    )
    assert plan.carried == []
    assert set(plan.predict.captured) == {"scale"}


def test_handoff_is_what_preprocessing_defines_and_predict_reads(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        [
            ("a = payload['a']\nb = payload['b']\ntemp = a + b", "preprocessing"),
            ("result = a * 2\nresult + len(payload)", "predict"),
        ],
    )
    assert plan.preprocessing.returns == ["a", "payload"]
    assert plan.predict.params == ["a", "payload"]


def test_input_variable_is_configurable(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [("body['n'] * 2", "predict")], {"input_variable": "body"})
    assert plan.preprocessing.params == ["body"]
    assert plan.predict.params == ["body"]


def test_setup_names_are_globals_and_setup_runs_where_needed(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        [
            ("path = 'w.txt'", None),
            ("table = {'a': 1}\nsize = len(path)", "setup"),
            ("table[payload]", "predict"),
        ],
    )
    assert plan.setup_globals == ["size", "table"]
    assert plan.predict.runs_setup
    assert not plan.preprocessing.runs_setup
    assert set(plan.predict.captured) == {"path"}


def test_names_read_then_assigned_are_rebound(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [("model = [1]", None), ("model = model + [payload]\nmodel", "predict")])
    assert plan.predict.rebind == ["model"]
    assert set(plan.predict.captured) == {"model"}


def test_pip_installs_become_requirements(tmp_path: Path) -> None:
    plan = plan_of(
        tmp_path,
        [
            ("%pip install -q scikit-learn==1.5.0 'pandas>=2'", None),
            ("!pip install --upgrade rich", None),
            ("%pip install tabulate\npayload", "predict"),
        ],
    )
    assert plan.requirements == ["scikit-learn==1.5.0", "pandas>=2", "rich", "tabulate"]


def test_magics_outside_tagged_cells_are_fine(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [("%matplotlib inline\nfiles = !ls", None), ("payload", "predict")])
    assert plan.predict.captured == {}


def test_builtins_and_display_need_nothing(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [("display(payload)\nlen(str(payload))", "predict")])
    assert plan.support_imports == ["display"]
    assert plan.predict.captured == {}


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ([("y = undefined_thing + 1\ny", "predict")], "cell 1 (predict), line 1: name 'undefined_thing' is used"),
        ([("x = 1", None), ("x = 2\ny = x + missing\ny", "predict")], "cell 2 (predict), line 2: name 'missing'"),
        ([("def f():\n    return nowhere\n", None), ("f()", "predict")], "cell 1, line 1: name 'nowhere'"),
        ([("%timeit payload\npayload", "predict")], "cell 1 (predict), line 1: '%timeit payload' is IPython syntax"),
        ([("!ls\npayload", "predict")], "cell 1 (predict), line 1: '!ls' is IPython syntax"),
        ([("%%time\npayload", "predict")], "'%%time' is IPython syntax"),
        ([("x = 1\nfiles = !ls\nx", "predict")], "line 2: '!ls' is IPython syntax"),
        ([("y = (1,\n", "predict")], "cell 1 (predict), line 1: syntax error"),
        ([("x = payload", "predict")], "the last predict cell must end with an expression"),
        ([("y = 1\ny", "predict"), ("z = 2", "predict")], "cell 2 (predict): the last predict cell must end"),
        ([("app = 1", None), ("app + payload", "predict")], "cell 1: the service needs the name 'app'"),
        (
            [("cellserve = 2", None), ("cellserve * payload", "predict")],
            "cell 1: the service needs the name 'cellserve'",
        ),
        (
            [("import cellserve", None), ("cellserve.__version__", "predict")],
            "the name 'cellserve', which the generated",
        ),
    ],
)
def test_analysis_errors_name_the_cell_and_line(tmp_path: Path, cells: Cells, message: str) -> None:
    with pytest.raises(AnalysisError) as caught:
        render_app(plan_of(tmp_path, cells))
    assert message in str(caught.value)
    assert "nb.ipynb" in str(caught.value)


def test_syntax_error_in_untagged_cell_is_ignored(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [("this is not python", None), ("payload", "predict")])
    assert plan.predict.params == ["payload"]


def test_unresolved_name_is_placed_in_the_right_cell_when_lines_coincide(tmp_path: Path) -> None:
    cells: Cells = [("def f():\n    return missing", "predict"), ("x = 1\ny = missing\nf() + y", "predict")]
    with pytest.raises(AnalysisError, match=r"cell 2 \(predict\), line 2: name 'missing'"):
        plan_of(tmp_path, cells)


BATCH = {"batch": {"max_size": 8}}


@pytest.mark.parametrize(
    ("cells", "message", "cell"),
    [
        ([("payload['x']", "predict")], "batch is set but no cell is tagged preprocessing", 1),
        (
            [("x = payload['x']", "preprocessing"), ("[x[0], payload]", "predict")],
            "cell 2: batch is set but the predict cells read the request itself ('payload')",
            2,
        ),
        (
            [("x = payload['x']", "preprocessing"), ("[1]", "predict")],
            "cell 2: batch is set but the predict cells read nothing the preprocessing cells make",
            2,
        ),
    ],
)
def test_batching_needs_values_handed_from_preprocessing(tmp_path: Path, cells: Cells, message: str, cell: int) -> None:
    with pytest.raises(AnalysisError) as caught:
        plan_of(tmp_path, cells, BATCH)
    assert message in str(caught.value)
    assert caught.value.cell == cell


def test_a_batched_predict_stage_is_generated_with_its_batch_and_room_for_it(tmp_path: Path) -> None:
    cells: Cells = [("x = payload['x']", "preprocessing"), ("[v * 2 for v in x]", "predict")]
    app = render_app(plan_of(tmp_path, cells, {"batch": {"max_size": 16, "wait_ms": 2}}))
    assert "batch=cellserve.bundle.support.Batch(max_size=16, wait_ms=2.0)," in app
    # predict may work on a whole batch at once (its default is 8); preprocessing keeps its own default.
    assert app.count("max_ongoing=16,") == 1
    assert app.count("max_ongoing=8,") == 1
