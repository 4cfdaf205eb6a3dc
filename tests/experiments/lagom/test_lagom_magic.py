"""``%%eo lagom``: a search of the train function the cell defines, and one-line errors."""

from __future__ import annotations

import pytest

from eolab import experiment
from eolab.experiments.lagom import LagomResult

CELL = """
import time

def train_fn(x, kernel, reporter):
    for step in range(3):
        time.sleep(0.01)
        reporter.broadcast(x * (step + 1) / 3, step)
    return x + 0.01 * kernel
"""


def test_a_cell_search_runs_and_returns_the_summary(eo, shell):
    result = eo(
        'lagom --searchspace "x=DOUBLE[0,1] kernel=INTEGER[3,4]" --trials 4 '
        "--metric val_accuracy --es-policy none --hb-interval 0.05 --seed 3 --name cellsearch",
        CELL,
    )
    assert isinstance(result, LagomResult)
    assert result["finished"] == 4 and result["metric"] == "val_accuracy"
    assert result["direction"] == "max"  # inferred from the metric name
    best = result["best_config"]
    assert result["best_val"] == pytest.approx(best["x"] + 0.01 * best["kernel"])
    assert "train_fn" in shell.user_ns  # the cell ran in the notebook's namespace
    run = experiment.get_run(result["run_id"])
    assert run.name == "cellsearch" and run.params["searchspace"]["kernel"] == ["INTEGER", [3, 4]]
    again = eo(
        'lagom --searchspace "x=DOUBLE[0,1] kernel=INTEGER[3,4]" --optimizer asha --asha 2,1,2 '
        "--trials 3 --metric val_accuracy --es-policy none --hb-interval 0.05 --train-fn asha_fn",
        "def asha_fn(x, kernel, budget, reporter):\n    return x * budget\n",
    )
    assert {t["params"]["budget"] for t in again["trials"]} <= {1, 2}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('lagom --searchspace "x=DOUBLE[0,1]" --metric val_loss --direction max',
         "eolab: invalid_input: direction='max' would maximise 'val_loss', which is a metric to "
         "minimise; use direction='min' (or force=True if you mean it)"),
        ('lagom --searchspace "x=DOUBLE[1,0]" --metric loss',
         "eolab: invalid_input: hyperparameter 'x' (DOUBLE): bounds must be [low, high] with "
         "low < high, got [1, 0] (reversed?)"),
        ('lagom --searchspace "" --metric loss', "eolab: invalid_input: the search space is empty"),
        ('lagom --searchspace "x=CATEGORICAL[]" --metric loss',
         "eolab: invalid_input: hyperparameter 'x' (CATEGORICAL) needs at least one value"),
        ('lagom --searchspace "x=DOUBLE[0,1]" --metric loss --trials 0',
         "eolab: invalid_input: num_trials must be an integer >= 1, got 0"),
        ('lagom --searchspace "x=DOUBLE[0,1]" --metric loss --train-fn nothing_here',
         "eolab: usage: no train function 'nothing_here'"),
        ('lagom --searchspace "x=DOUBLE[0,1]" --metric loss --optimizer asha --asha 2',
         "eolab: usage: --asha is REDUCTION_FACTOR,RESOURCE_MIN,RESOURCE_MAX"),
        ("lagom --metric loss", "the following arguments are required: --searchspace"),
    ],
)  # fmt: skip
def test_bad_lines_print_one_line_and_run_nothing(eo, capsys, line, message):
    assert eo(line) is None
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0], err
    assert experiment.list_runs() == []
