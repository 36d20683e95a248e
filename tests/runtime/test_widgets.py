"""The in-notebook panel and endpoint widgets (ipywidgets), publishing to the real cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from cellserve import CellserveError, endpoint, panel
from tests.conftest import Cluster
from tests.notebooks import make_notebook
from tests.runtime.conftest import calc_notebook


def test_panel_needs_to_know_its_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    with pytest.raises(CellserveError, match="pass its path"):
        panel()


@pytest.mark.kernel
def test_panel_shows_problems_and_disables_publish(tmp_path: Path) -> None:
    notebook = make_notebook(tmp_path / "nb.ipynb", [("payload = 1", None), ("unknown_name + payload", "predict")])
    shown = panel(notebook)
    assert "predict</b>: cell 2" in shown.roles.value
    assert "unknown_name" in shown.roles.value
    assert shown.button.disabled


@pytest.mark.ray
@pytest.mark.kernel
def test_panel_publishes_and_endpoint_answers_beside_the_notebook(cluster: Cluster, home: Path, tmp_path: Path) -> None:
    shown = panel(calc_notebook(tmp_path / "calc.ipynb", 3), address=cluster.dashboard)
    assert "preprocessing</b>: cell 3" in shown.roles.value
    assert not shown.button.disabled
    result = shown.publish()
    assert result is not None, shown.error
    for step in ("analyse", "capture", "deploy", "smoke-test", "promote"):
        assert f"<b>{step}</b>" in shown.progress.value
    assert result["endpoint"] in shown.result.value
    assert "Service page" in shown.result.value

    calc = endpoint("calc")
    assert calc({"x": [1, 2, 3]}) == {"total": 18, "factor": 3}
    form = calc.widget()
    send = form.children[2]
    send.click()
    answer = form.children[3].value
    assert "service" in answer
    assert "notebook" in answer
    assert answer.count("&quot;total&quot;: 18") == 2  # the service's answer and the notebook's, side by side
