"""Servings end to end on python models (instances start in about a second): bad input, the
supervisor (round robin, crash restart, failed start, version switch under load), batching,
stopping, deleting, and the model registry refusing to delete a version in use."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import threading
import time
import urllib.request

import numpy as np
import pytest

import eolab
from eolab.errors import Conflict, Forbidden, InvalidInput, InvalidName, NotFound
from eolab.projects import Project
from eolab.serving import runtime
from eolab.serving.errors import ServingFailed, ServingUnavailable
from eolab.serving.model_server import INSTANCE_HEADER
from eolab.serving.servings import Servings

from .conftest import SIGNATURE, python_model


@pytest.fixture(scope="module")
def adder(registry, tmp_path_factory) -> str:
    """Model ``adder`` v1 (python, row sums), registered but served by nobody yet."""
    registry.export(
        python_model(tmp_path_factory.mktemp("adder") / "m"), "adder", signature=SIGNATURE
    )
    return "adder"


def wait_for(predicate, timeout: float = 30.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


def predict_via_proxy(port: int, rows: list) -> tuple[str, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/models/Summer:predict",
        data=json.dumps({"instances": rows}).encode(),
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers[INSTANCE_HEADER], json.loads(response.read())


@pytest.mark.parametrize(
    "args, error, words",
    [
        ({"name": "9lives"}, InvalidName, "serving name must match"),
        ({"model_name": "nomodel"}, NotFound, "no model 'nomodel'"),
        ({"model_version": 9}, NotFound, "version 9"),
        ({"model_version": 0}, InvalidInput, "model_version must be an integer >= 1"),
        ({"model_server": "torch"}, InvalidInput, "model_server must be one of"),
        ({"instances": 0}, InvalidInput, "instances must be an integer [1, 16]"),
        ({"instances": True}, InvalidInput, "instances must be an integer"),
        ({"batching": {"max_batch_size": 0}}, InvalidInput, "max_batch_size"),
        ({"topic": "bad topic!"}, InvalidInput, "topic must match"),
        ({"model_server": "tensorflow"}, InvalidInput, "has no saved_model.pb"),
        ({"inference_logging": "yes"}, InvalidInput, "inference_logging must be True or False"),
        ({"log_sampling": 0}, InvalidInput, "log_sampling must be a fraction in (0, 1]"),
        ({"log_sampling": 1.5}, InvalidInput, "log_sampling must be a fraction in (0, 1]"),
        ({"log_sampling": True}, InvalidInput, "log_sampling must be a fraction in (0, 1]"),
        ({"log_sampling": "half"}, InvalidInput, "log_sampling must be a fraction in (0, 1]"),
    ],
)
def test_create_or_update_refuses_bad_input_and_writes_nothing(sv, adder, args, error, words):
    before = [s.name for s in sv.get_servings()]
    given = {"name": "Fresh", "model_name": adder, "model_version": 1, "model_server": "python"}
    with pytest.raises(error) as caught:
        sv.create_or_update(**{**given, **args})
    assert words in caught.value.message
    assert [s.name for s in sv.get_servings()] == before
    assert not sv.exists("Fresh")
    assert not runtime.run_dir(sv.project.root, "Fresh").exists()


def test_unknown_serving_is_404_a_stopped_one_503_and_strangers_403(sv, adder, serving_ws):
    with pytest.raises(NotFound, match="no serving 'Nope'"):
        sv.get_status("Nope")
    with pytest.raises(NotFound):
        sv.make_inference_request("Nope", [[1, 2, 3, 4]])
    idle = sv.create_or_update("Idle", adder, model_server="python")
    assert (idle.status, idle.model_version, idle.endpoint) == ("Stopped", 1, None)
    assert idle.topic == "Idle_inference_log" and idle.inference_logging
    with pytest.raises(ServingUnavailable, match="'Idle' is stopped; start it first") as caught:
        sv.make_inference_request("Idle", [[1, 2, 3, 4]])
    assert caught.value.http_status == 503
    bob = Servings(Project(serving_ws.as_user("bob"), "ExtremeEarth"))
    with pytest.raises(Forbidden, match="not a member"):
        bob.get_servings()
    with pytest.raises(Forbidden):
        bob.make_inference_request("Idle", [[1, 2, 3, 4]])
    with pytest.raises(Conflict, match="topic 'Idle_inference_log' is the inference log of"):
        sv.create_or_update("Other", adder, model_server="python", topic="Idle_inference_log")
    sv.delete("Idle")
    assert not sv.exists("Idle")


def test_requests_go_round_robin_over_two_instances(sv, summer):
    serving = sv.get_serving(summer)
    assert serving.status == "Running" and serving.available_instances == 2
    assert serving.endpoint == f"http://127.0.0.1:{serving.proxy_port}/v1/models/Summer"
    answered = [predict_via_proxy(serving.proxy_port, [[1, 2, 3, 4]]) for _ in range(6)]
    assert all(body == {"predictions": [10.0]} for _, body in answered)
    who = [instance for instance, _ in answered]
    assert set(who) == {"0", "1"} and all(a != b for a, b in zip(who, who[1:], strict=False))


def test_updating_with_the_same_settings_restarts_nothing(sv, summer):
    before = [i.pid for i in sv.get_serving(summer).instances]
    same = sv.create_or_update(summer, "summer", 1, model_server="python", instances=2)
    assert [i.pid for i in same.instances] == before and same.status == "Running"


def test_make_inference_request_speaks_tf_serving(sv, summer):
    assert sv.make_inference_request(summer, [[1, 2, 3, 4]]) == {"predictions": [10.0]}
    assert sv.make_inference_request(summer, np.ones((2, 4), np.float32)) == {
        "predictions": [4.0, 4.0]
    }
    assert sv.make_inference_request(summer, {"inputs": [[0, 0, 0, 1]]}) == {"outputs": [1.0]}
    assert sv.make_inference_request(
        summer, {"examples": [{"x": [1, 1, 1, 1]}]}, verb=":regress"
    ) == {"result": [4.0]}
    with pytest.raises(InvalidInput, match=r"answered 400: input 'inputs' expects shape \[-1, 4\]"):
        sv.make_inference_request(summer, [[1, 2]])
    with pytest.raises(InvalidInput, match="verb must be one of"):
        sv.make_inference_request(summer, [[1, 2, 3, 4]], verb=":explain")


def test_a_killed_instance_is_restarted_and_the_restart_logged(sv, summer):
    serving = sv.get_serving(summer)
    victim = serving.instances[0]
    os.kill(victim.pid, signal.SIGKILL)
    answers = [sv.make_inference_request(summer, [[1, 1, 1, 1]]) for _ in range(20)]
    assert answers == [{"predictions": [4.0]}] * 20  # the other instance answered meanwhile

    def restarted():
        now = sv.get_serving(summer).instances[0]
        return now if now.status == "Running" and now.pid != victim.pid else None

    back = wait_for(restarted)
    assert back.restarts == 1 and "exited with code -9" in back.last_error
    log = runtime.log_dir(sv.project.root, summer) / runtime.SUPERVISOR_LOG
    assert f"instance 0 (pid {victim.pid}) exited with code -9; restarting" in log.read_text()
    assert (runtime.log_dir(sv.project.root, summer) / "instance-0.log").exists()


def test_a_model_that_fails_to_load_fails_the_start_with_the_loaders_error(sv, registry, tmp_path):
    folder = python_model(tmp_path / "broken", body="raise ValueError('weights missing')\n")
    registry.export(folder, "broken")
    sv.create_or_update("Broken", "broken", model_server="python")
    with pytest.raises(ServingFailed, match="weights missing") as caught:
        sv.start("Broken")
    assert caught.value.http_status == 422
    serving = sv.get_serving("Broken")
    assert serving.status == "Failed" and "ValueError: weights missing" in serving.reason
    assert serving.instances == []
    with pytest.raises(ServingUnavailable, match="failed"):
        sv.make_inference_request("Broken", [[1, 2, 3, 4]])
    assert (
        "weights missing"
        in (runtime.log_dir(sv.project.root, "Broken") / "instance-0.log").read_text()
    )
    sv.delete("Broken")


def test_batching_groups_concurrent_requests_and_a_dead_supervisor_is_reported(
    sv, registry, tmp_path, monkeypatch, capsys
):
    sizes = tmp_path / "sizes.txt"
    monkeypatch.setenv("EOLAB_TEST_BATCH_FILE", str(sizes))  # the instance inherits it
    registry.export(python_model(tmp_path / "slow", slow=0.05), "slow", signature=SIGNATURE)
    sv.create_or_update(
        "Batched", "slow", model_server="python", inference_logging=False,
        batching={"max_batch_size": 8, "batch_timeout_micros": 100_000},
    )  # fmt: skip
    sv.start("Batched")
    assert "starting Batched" in capsys.readouterr().err  # the progress bar (tqdm here)
    results: dict[int, object] = {}

    def client(k: int) -> None:
        results[k] = sv.make_inference_request("Batched", [[k, 0, 0, 0]])

    threads = [threading.Thread(target=client, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {k: {"predictions": [float(k)]} for k in range(16)}
    batches = [int(n) for n in sizes.read_text().split()]
    assert sum(batches) == 16 and max(batches) > 1 and len(batches) < 16
    # the supervisor killed with its instances: reported as Failed, not as Running
    pids = [serving_pid(sv, "Batched")] + [i.pid for i in sv.get_serving("Batched").instances]
    runtime.kill_group(pids[0])
    wait_for(lambda: not any(runtime.alive(p) for p in pids))
    dead = sv.get_serving("Batched")
    assert dead.status == "Failed" and "supervisor process" in dead.reason
    assert sv.stop("Batched").status == "Stopped"
    with pytest.raises(ServingUnavailable):
        sv.make_inference_request("Batched", [[1, 2, 3, 4]])
    # logging off: the topic is never written
    assert not (sv.project.root / "Logs" / "inference" / "Batched_inference_log").exists()


def test_version_switch_replaces_instances_one_at_a_time_under_load(sv, summer, registry, tmp_path):
    registry.export(python_model(tmp_path / "v2", offset=1000), "summer", signature=SIGNATURE)
    failures: list[object] = []
    answers: list[float] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                answers.append(sv.make_inference_request(summer, [[1, 2, 3, 4]])["predictions"][0])
            except Exception as exc:  # noqa: BLE001 - any failure fails the test
                failures.append(exc)

    thread = threading.Thread(target=load)
    thread.start()
    try:
        switched = sv.create_or_update(summer, "summer", 2, model_server="python", instances=2)
    finally:
        time.sleep(0.2)
        stop.set()
        thread.join()
    assert failures == []
    assert answers[0] == 10.0 and answers[-1] == 1010.0 and set(answers) == {10.0, 1010.0}
    assert switched.model_version == 2 and switched.status == "Running"
    assert [i.model_version for i in switched.instances] == [2, 2]
    with pytest.raises(Conflict, match=r"model summer v2 is served by \['Summer'\]"):
        registry.delete("summer", 2)
    assert registry.get_model("summer", 2).version == 2  # nothing deleted
    registry.delete("summer", 1)  # no longer served

    # a version that cannot load: the serving keeps running the old one
    registry.export(
        python_model(tmp_path / "v3", body="raise ImportError('no sklearn')\n"), "summer"
    )
    with pytest.raises(ServingFailed, match="no sklearn"):
        sv.create_or_update(summer, "summer", 3, model_server="python", instances=2)
    kept = sv.get_serving(summer)
    assert kept.model_version == 2 and kept.status == "Running"
    assert sv.make_inference_request(summer, [[1, 2, 3, 4]]) == {"predictions": [1010.0]}
    records = sv.get_inference_log(summer, limit=5)
    assert {r.model_version for r in records} == {2}


def test_the_facade_acts_on_the_current_project(serving_project, summer):
    from eolab import serving

    eolab.set_current_project(serving_project)
    try:
        assert serving.get_status(summer) == "Running"
        assert summer in [s.name for s in serving.get_servings()]
        assert "predictions" in serving.make_inference_request(summer, [[0, 0, 0, 0]])
        assert serving.get_inference_log(summer, limit=1)[0].model_name == summer
        importlib.import_module("eolab.serving.monitoring")  # must not shadow the function
        assert serving.monitor(summer, limit=5).requests == len(
            serving.get_inference_log(summer, limit=5)
        )
    finally:
        eolab.set_current_project(None)


def serving_pid(sv: Servings, name: str) -> int:
    state = runtime.read_json(runtime.run_dir(sv.project.root, name) / runtime.STATE_FILE)
    assert state is not None
    return state["pid"]


def test_state_is_found_by_another_process(sv, summer):
    """The REST server and other notebooks read the same files."""
    state = json.loads((runtime.run_dir(sv.project.root, summer) / runtime.STATE_FILE).read_text())
    serving = sv.get_serving(summer)
    assert state["status"] == "Running" and state["proxy_port"] == serving.proxy_port
    assert [i["pid"] for i in state["instances"]] == [i.pid for i in serving.instances]


def test_a_hung_instance_leaves_the_rotation_then_is_killed_and_restarted(serving_home, adder):
    """SIGSTOP: the process lives but answers nothing (as a deadlock would). One missed probe
    takes it out of the rotation; three in a row get it killed and restarted."""
    ws = eolab.Workspace.open(
        serving_home,
        user="alice",
        serving_health_interval_s=0.2,
        serving_health_timeout_s=0.5,
        serving_health_failures=3,
    )
    fast = Project(ws, "ExtremeEarth").serving
    fast.create_or_update("Hung", adder, model_server="python", instances=2)
    victim = fast.start("Hung", progress=False).instances[0]
    os.kill(victim.pid, signal.SIGSTOP)
    try:
        wait_for(lambda: fast.get_serving("Hung").instances[0].missed_probes >= 1, 10)
        answers = [fast.make_inference_request("Hung", [[1, 1, 1, 1]]) for _ in range(10)]
        assert answers == [{"predictions": [4.0]}] * 10  # instance 1 answered meanwhile

        def restarted():
            now = fast.get_serving("Hung").instances[0]
            return now if now.status == "Running" and now.pid != victim.pid else None

        back = wait_for(restarted, 30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim.pid, signal.SIGCONT)
    assert back.restarts == 1 and back.missed_probes == 0
    assert "missed 3 health probes in a row (hung" in back.last_error
    with pytest.raises(ProcessLookupError):
        os.kill(victim.pid, 0)  # killed and reaped, not left behind stopped
    log = (runtime.log_dir(fast.project.root, "Hung") / runtime.SUPERVISOR_LOG).read_text()
    assert f"instance 0 (pid {victim.pid}) is hung (3 health probes missed in a row)" in log
    assert fast.make_inference_request("Hung", [[1, 2, 3, 4]]) == {"predictions": [10.0]}
    fast.delete("Hung")


def _gauge(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_sampled_logging_keeps_every_failure_and_monitoring_scales_the_rate(sv, adder):
    sv.create_or_update("Sampled", adder, model_server="python", log_sampling=0.25)
    serving = sv.start("Sampled", progress=False)
    assert serving.log_sampling == 0.25 and "25% of successful requests" in repr(serving)
    for _ in range(200):
        sv.make_inference_request("Sampled", [[1, 1, 1, 1]])
    for _ in range(5):
        with pytest.raises(InvalidInput):
            sv.make_inference_request("Sampled", [[1, 1]])
    port = serving.instances[0].port

    def settled():
        written = _gauge(port, "eolab_serving_inference_log_written")
        skipped = _gauge(port, "eolab_serving_inference_log_sampled_out")
        return (written, skipped) if written + skipped == 205 else None

    written, skipped = wait_for(settled)
    records = sv.get_inference_log("Sampled", limit=1000)
    ok = [r for r in records if r.response_http_code == 200]
    failed = [r for r in records if r.response_http_code == 400]
    assert len(records) == written and len(failed) == 5  # every failure is logged
    assert len(ok) + skipped == 200 and 20 <= len(ok) <= 90  # about a quarter (p < 1e-6 outside)
    report = sv.monitor("Sampled")
    assert report.log_sampling == 0.25 and report.requests == len(records)
    estimated = len(ok) / 0.25 + 5
    assert report.error_rate == pytest.approx(5 / estimated)
    span = (report.window_end - report.window_start).total_seconds()
    assert report.request_rate == pytest.approx(estimated / span, rel=1e-6)
    assert "sampled: rate estimated" in repr(report)
    sv.delete("Sampled")


def test_deleting_a_project_stops_its_running_servings_first(serving_ws, tmp_path):
    from eolab.models.registry import ModelRegistry

    doomed = serving_ws.create_project("Doomed")
    ModelRegistry(doomed).export(python_model(tmp_path / "m"), "adder", signature=SIGNATURE)
    doomed.serving.create_or_update("Short", "adder", model_server="python")
    serving = doomed.serving.start("Short", progress=False)
    state = runtime.read_json(runtime.run_dir(doomed.root, "Short") / runtime.STATE_FILE)
    pids = [state["pid"], *(i.pid for i in serving.instances)]
    assert all(runtime.alive(pid) for pid in pids)
    root = doomed.root
    with pytest.raises(InvalidInput, match="confirm='Doomed'"):
        doomed.delete()
    assert all(runtime.alive(pid) for pid in pids)  # a refused delete stops nothing
    doomed.delete(confirm="Doomed")
    assert not any(runtime.alive(pid) for pid in pids)
    assert not root.exists()
    assert "Doomed" not in [p.name for p in serving_ws.list_projects()]


def test_get_logs_tails_the_supervisor_and_instance_logs(sv, summer):
    assert sv.log_sources(summer) == ["supervisor", "instance-0", "instance-1"]
    supervisor = sv.get_logs(summer, tail=5)
    assert supervisor.source == "supervisor" and 0 < len(supervisor.lines) <= 5
    text = (runtime.log_dir(sv.project.root, summer) / runtime.SUPERVISOR_LOG).read_text()
    assert supervisor.lines == text.splitlines()[-len(supervisor.lines) :]
    assert any("ready on port" in line for line in sv.get_logs(summer, tail=10_000).lines)
    with pytest.raises(NotFound, match="no serving 'Nope'"):
        sv.get_logs("Nope")
    with pytest.raises(InvalidInput):
        sv.get_logs(summer, source="../../secrets")
    with pytest.raises(InvalidInput):
        sv.get_logs(summer, tail=0)
