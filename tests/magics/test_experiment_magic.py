"""``%%eo experiment``: real launches of tiny pure-Python train functions from a cell."""

from __future__ import annotations

import pytest

import eolab
from eolab import experiment

DEFINES = """
import math

def train_fn(lr, units):
    experiment.log_metric("loss", 1 - lr)
    print("units", units)
    return {"accuracy": round(lr * units, 6)}
"""

BODY = """
experiment.log_metric("loss", 1.0 - lr)
experiment.log_metric("loss", 0.5 - lr)
return {"accuracy": round(lr * 2, 6)}
"""


@pytest.fixture
def cell(in_project, shell):
    """``cell(line, body)`` runs ``%%eo experiment line`` with ``experiment`` importable in the
    notebook, as a user would have it."""
    shell.user_ns["experiment"] = experiment
    shell.user_ns.pop("train_fn", None)
    yield lambda line, body: in_project(f"experiment {line}", body)
    shell.user_ns.pop("train_fn", None)


@pytest.fixture
def error_line(capsys):
    """The one error line on stderr, after the progress bar's carriage-return redraws (a
    terminal's tqdm bar writes to stderr too), and that there was no traceback."""

    def read() -> str:
        err = capsys.readouterr().err
        assert "Traceback" not in err
        lines = err.split("\r")[-1].strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("eolab: "), err
        return lines[0]

    return read


def _runs(project: eolab.Project) -> list:
    eolab.set_current_project(project)
    return experiment.list_runs()


def test_a_cell_that_defines_train_fn_runs_a_search(cell, shell, project):
    run = cell(
        """--name "lr units" --args '{"lr": [0.1, 0.2], "units": [10, 20]}' --metric-key accuracy""",
        DEFINES,
    )
    assert (run.name, run.kind, run.state, run.metric_key) == (
        "lr units",
        "launch",
        "FINISHED",
        "accuracy",
    )
    assert [t.params for t in run.trials] == [{"lr": 0.1, "units": 10}, {"lr": 0.2, "units": 20}]
    assert [t.metrics["accuracy"] for t in run.trials] == [1.0, 4.0]
    assert run.best_trial == "trial_001" and run.metrics["accuracy"] == 4.0
    assert [h["value"] for h in run.trials[1].history("loss")] == [pytest.approx(0.8)]
    assert "units 20" in run.trials[1].stdout()
    assert callable(shell.user_ns["train_fn"])  # the cell ran in the notebook
    assert "lr units" in repr(run) and "trial_001" in run._repr_html_()


def test_a_cell_body_is_the_train_function(cell, shell, project):
    run = cell("""--name body --args '{"lr": [0.1, 0.3]}' --seed 7""", BODY)
    assert run.state == "FINISHED" and run.seed == 7
    assert [t.metrics for t in run.trials] == [{"accuracy": 0.2}, {"accuracy": 0.6}]
    assert [h["value"] for h in run.trials[0].history("loss")] == [0.9, pytest.approx(0.4)]
    assert "train_fn" not in shell.user_ns  # the body's function is not left in the notebook
    source = (run.directory / "code" / "train_fn.py").read_text()
    assert source.startswith("def train_fn(lr):") and 'return {"accuracy"' in source

    single = cell("--name once", "return {'answer': 42}")
    assert single.state == "FINISHED" and single.metrics == {"answer": 42}
    assert single.trials[0].params == {}


def test_a_mirrored_cell_runs_one_trial_per_worker(cell, project):
    body = "import json, os\nreturn {'index': json.loads(os.environ['TF_CONFIG'])['task']['index']}"
    run = cell("--name mirrored --mirrored --workers 2 --metric-key index", body)
    assert (run.kind, run.state) == ("mirrored", "FINISHED")
    assert [t.metrics for t in run.trials] == [{"index": 0}, {"index": 1}]
    assert run.metrics == {"index": 0}  # the chief's


def test_a_failing_train_fn_is_one_line_and_recorded(cell, error_line, project):
    assert cell("--name broken", "raise ValueError('no convergence')\nreturn {}") is None
    line = error_line()
    assert line.startswith("eolab: trial_failed:") and "no convergence" in line
    (run,) = _runs(project)
    assert run.state == "FAILED" and "ValueError: no convergence" in run.trials[0].error

    assert cell("--name nodict", "return 3") is None
    assert "trial_failed" in error_line()


@pytest.mark.parametrize(
    ("line", "body", "message"),
    [
        ("--name n --args '{lr: [1]}'", BODY, "--args must be a JSON object of lists"),
        ("--name n --args '[1, 2]'", BODY, "--args must be a non-empty JSON object"),
        ('--name n --args \'{"lr": [1, 2], "u": [1]}\'', BODY, "equal lengths"),
        ("--name n --args '{\"lr\": 0.1}'", BODY, "must be a non-empty list"),
        ("--name n", "   \n", "needs a cell that defines train_fn"),
        ("--name n", "x = 1", "no 'return' found"),
        ("--name n", "return {'a': 1", "not valid Python"),
        ("--name n --workers 2", BODY, "--workers is for a --mirrored run"),
        ("--name n --mirrored --args '{\"lr\": [1]}'", BODY, "a --mirrored run takes no --args"),
        ("--args '{\"lr\": [1]}'", BODY, "the following arguments are required: --name"),
        ("--name ''", "return {'a': 1}", "an experiment name is a non-empty string"),
        ("--name n --mirrored --workers 64", "return {'a': 1}", "needs 64 processes"),
        ("--name n --args '{\"lr\": [1]}'", "def train_fn(x):\n    return {}", "cannot be called"),
    ],
)
def test_bad_input_is_one_line_and_writes_no_run(cell, error_line, project, line, body, message):
    assert cell(line, body) is None
    assert message in error_line()
    assert _runs(project) == []


def test_a_missing_metric_key_fails_the_trials(cell, project):
    run = cell("""--name mk --args '{"lr": [0.1]}' --metric-key nope""", BODY)
    assert run.state == "FAILED" or run.trials[0].state == "FAILED"
    assert "nope" in run.trials[0].error


def test_without_a_project_it_says_how_to_select_one(eo, error_line):
    eolab.set_current_project(None)
    assert eo("experiment --name n", "return {'a': 1}") is None
    assert "%eo project NAME" in error_line()
