"""Starts a real ggufd on 127.0.0.1 with a free port for the tests, and the
paths they need (from GGUFD_BIN, GGUFCTL_BIN, GGUFD_MODELS_DIR)."""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import TypeVar

REPO = pathlib.Path(__file__).resolve().parents[3]
MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf"
T = TypeVar("T")


def binary(env: str, default: str) -> pathlib.Path:
    return pathlib.Path(os.environ.get(env) or REPO / default)


GGUFD_BIN = binary("GGUFD_BIN", "build/service/ggufd")
GGUFCTL_BIN = binary("GGUFCTL_BIN", "build/clients/cpp/ggufctl")
MODELS_DIR = binary("GGUFD_MODELS_DIR", "models")

# A Prometheus text sample: name{labels} value.
_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class GgufdServer:
    """`ggufd serve` with queue capacity 1, one thread, test hooks and no
    model: the tests load it through the client. `extra_args` are appended
    to the command line (e.g. "--state-dir", DIR, or TLS and auth flags).
    With `model` the server loads MODEL before it listens; with `metrics` it
    serves /metrics on a free port (`metrics_text()`)."""

    def __init__(self, *extra_args: str, model: bool = False, metrics: bool = False) -> None:
        self.process = subprocess.Popen(
            [
                str(GGUFD_BIN), "serve",
                "--listen", "127.0.0.1:0",
                "--metrics-port", "0" if metrics else "-1",
                "--model-dir", str(MODELS_DIR),
                *(["--model", str(MODELS_DIR / MODEL)] if model else []),
                "--threads", "1",
                "--queue-capacity", "1",
                "--enable-test-hooks",
                *extra_args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        port: list[int] = []
        metrics_port: list[int] = []
        ready = threading.Event()

        def read_log() -> None:
            # Keeps draining stderr so the server never blocks on a full pipe.
            assert self.process.stderr is not None
            for line in self.process.stderr:
                self.log.append(line)
                if not port:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if entry.get("msg") == "listening":
                        metrics_port.append(int(entry.get("metrics_port", -1)))
                        port.append(int(entry["port"]))
                        ready.set()
            ready.set()

        self._reader = threading.Thread(target=read_log, daemon=True)
        self._reader.start()
        if not ready.wait(30) or not port:
            self.stop()
            raise RuntimeError("ggufd did not start listening:\n" + "".join(self.log))
        self.port = port[0]
        self.address = f"127.0.0.1:{self.port}"
        self.metrics_port = metrics_port[0]

    def metrics_text(self) -> str:
        """The Prometheus text the server's /metrics serves now."""
        if self.metrics_port < 0:
            raise RuntimeError("this server was started without metrics=True")
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        # No proxy: the server is on loopback, whatever http_proxy says.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=10) as response:
            body: bytes = response.read()
        return body.decode("utf-8")

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample of /metrics (0 when absent, as a counter
        that was never incremented is)."""
        want = dict(labels)
        for line in self.metrics_text().splitlines():
            if line.startswith("#"):
                continue
            match = _SAMPLE.match(line)
            if match is None or match.group("name") != name:
                continue
            got = dict(_LABEL.findall(match.group("labels") or ""))
            if got == want:
                return float(match.group("value"))
        return 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)


def poll(what: str, fn: Callable[[], T], ok: Callable[[T], bool], timeout: float = 30) -> T:
    """Calls fn until ok(result) (a generous bound, not a timing check)."""
    end = time.monotonic() + timeout
    while True:
        value = fn()
        if ok(value):
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}; last value: {value!r}")
        time.sleep(0.02)


def rpc_log_count(server: GgufdServer, method: str, code: str) -> int:
    """How many calls of `method` the server logged as ending with `code`:
    each retry attempt is a call of its own there."""
    count = 0
    for line in list(server.log):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == "rpc" and entry.get("method") == method and entry.get("code") == code:
            count += 1
    return count
