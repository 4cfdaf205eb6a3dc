"""Shared by the EO tests: one moto_server (a real S3-compatible endpoint) per session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """A moto_server subprocess on a free 127.0.0.1 port, for the session."""
    exe = Path(sys.executable).with_name("moto_server")
    exe_path = str(exe) if exe.exists() else shutil.which("moto_server")
    if not exe_path:
        pytest.fail("moto_server missing: install the test extra (moto[server])")
    port = _free_port()
    proc = subprocess.Popen(
        [exe_path, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start on port {port}")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def s3_env(home: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """moto as the configured S3 (set after ``home`` clears EOLAB_*), with test credentials
    and no AWS files or instance metadata to consult."""
    for var in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home.parent / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home.parent / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("EOLAB_S3_ENDPOINT_URL", moto_url)
    return moto_url
