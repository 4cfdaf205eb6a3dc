"""The driver <-> worker protocol over real ZeroMQ sockets: signed requests and replies, and
messages that are not ours dropped unanswered."""

from __future__ import annotations

import threading

import pytest
import zmq

from eolab.experiments.lagom import rpc

RUN = "run_test"


@pytest.fixture
def driver():
    endpoint = rpc.DriverEndpoint(RUN, rpc.new_secret())
    yield endpoint
    endpoint.close()


def serve_once(driver: rpc.DriverEndpoint, answer: dict, seen: list) -> threading.Thread:
    def loop() -> None:
        for _ in range(50):
            for request in driver.receive(0.05):
                seen.append(request.message)
                driver.reply(request, **answer)
                return

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def test_a_request_and_its_reply_round_trip_signed(driver):
    worker = rpc.WorkerEndpoint(driver.address, driver.secret, RUN, "worker_00", timeout=5)
    seen: list = []
    thread = serve_once(driver, {"type_": rpc.TRIAL, "trial_id": "trial_000"}, seen)
    reply = worker.request(rpc.GET)
    thread.join()
    assert reply["type"] == rpc.TRIAL and reply["trial_id"] == "trial_000"
    assert seen[0]["type"] == rpc.GET and seen[0]["worker"] == "worker_00"
    assert seen[0]["run"] == RUN and seen[0]["seq"] == 1
    assert driver.address.startswith("tcp://127.0.0.1:")
    worker.close()


def raw_dealer(driver: rpc.DriverEndpoint) -> zmq.Socket:
    socket = driver.context.socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(driver.address)
    return socket


def message(seq: int = 1, **fields) -> dict:
    return {"type": rpc.GET, "run": RUN, "worker": "worker_00", "session": "s", "seq": seq,
            **fields}  # fmt: skip


def test_bad_signature_wrong_run_replays_and_junk_are_dropped(driver):
    socket = raw_dealer(driver)
    other = rpc.new_secret()
    socket.send_multipart(rpc.encode(other, message()))  # signed with another secret
    socket.send_multipart(rpc.encode(driver.secret, message(run="run_other")))
    socket.send_multipart([b"not json", rpc.sign(driver.secret, b"not json")])
    socket.send_multipart([b"one frame"])
    socket.send_multipart(rpc.encode(driver.secret, message(type="PICKLE")))
    socket.send_multipart(rpc.encode(driver.secret, message(seq=5)))  # the one good message
    socket.send_multipart(rpc.encode(driver.secret, message(seq=5)))  # replayed
    socket.send_multipart(rpc.encode(driver.secret, message(seq=4)))  # older
    received = []
    for _ in range(20):
        received += driver.receive(0.05)
    assert [r.message["seq"] for r in received] == [5]
    assert driver.dropped == 7
    socket.close(0)


def test_a_tampered_body_fails_the_signature():
    secret = rpc.new_secret()
    body, signature = rpc.encode(secret, message())
    with pytest.raises(rpc.BadMessage, match="bad signature"):
        rpc.decode(secret, [body.replace(b"GET", b"REG"), signature])
    assert rpc.decode(secret, [body, signature])["type"] == rpc.GET


def test_a_worker_whose_driver_does_not_answer_gives_up(driver):
    worker = rpc.WorkerEndpoint(driver.address, rpc.new_secret(), RUN, "worker_00", timeout=0.3)
    with pytest.raises(rpc.DriverGone, match="no reply to REG from the lagom driver within 0.3 s"):
        worker.request(rpc.REG, pid=1, host="h")  # signed with the wrong secret: dropped
    worker.close()


def test_a_driver_known_by_host_name_is_reached_by_that_name():
    driver = rpc.DriverEndpoint(RUN, rpc.new_secret(), host="localhost")
    assert driver.address.startswith("tcp://localhost:")
    worker = rpc.WorkerEndpoint(driver.address, driver.secret, RUN, "worker_00", timeout=5)
    seen: list = []
    thread = serve_once(driver, {"type_": rpc.OK}, seen)
    assert worker.request(rpc.REG, pid=1, host="h")["type"] == rpc.OK
    thread.join()
    worker.close()
    driver.close()
