#!/usr/bin/env python3
"""End-to-end checks of a gRPC L7 proxy in front of two real ggufd replicas,
through the Python client (its retry policy is the one users get).

tests/deploy/mesh_nginx.sh and mesh_envoy.sh start the replicas and the
proxy (deploy/nginx/ggufd.conf, deploy/envoy/envoy.yaml) and run this with
their addresses, metrics ports, log files and process ids. Each check prints
one PASS/FAIL line; the last line counts them. The failover checks kill the
replicas (SIGKILL), so they run last.

Evidence is functional, never a wall-clock threshold: which replica logged a
request and with what code, counters on each replica's /metrics, and the
proxy's access log (which replicas it tried for each call).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc

import ggufd
from ggufd.v1 import inference_pb2, inference_pb2_grpc

T = TypeVar("T")

# Long enough that a proxy buffering the stream could not deliver the first
# token before the generation ends, within --max-new-tokens (4096).
LONG_TOKENS = 2000
LONG_PROMPT = "Once upon a time"


@dataclass
class Replica:
    name: str
    address: str
    metrics_port: int
    log: Path
    pid: int

    def requests(self) -> dict[tuple[str, str], float]:
        """ggufd_requests_total by (method, code)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
        out = {}
        pattern = r'^ggufd_requests_total\{method="([^"]*)",code="([^"]*)"\} (\S+)$'
        for m in re.finditer(pattern, text, re.M):
            out[(m.group(1), m.group(2))] = float(m.group(3))
        return out

    def count(self, method: str, code: str | None = None) -> float:
        return sum(
            v
            for (m, c), v in self.requests().items()
            if m == method and (code is None or c == code)
        )

    def running(self) -> str:
        """The request id its default runtime is running (the published
        snapshot, which does not queue behind the work)."""
        with ggufd.Client(self.address, timeout=10) as c:
            return str(c.status().running_request_id)

    def rpc_line(self, request_id: str) -> dict[str, Any] | None:
        """The JSON log's `rpc` line of one Generate, once it has ended."""
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                j = json.loads(line)
            except ValueError:
                continue
            if j.get("msg") == "rpc" and j.get("request_id") == request_id:
                return j  # type: ignore[no-any-return]
        return None


def poll(what: str, fn: Callable[[], T | None], timeout: float = 60) -> T:
    """fn()'s first truthy value; polls because replicas count and log a call
    just after the client has seen it end."""
    end = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class AccessLog:
    """The proxy's access log, read from a mark on: the ggufd_grpc format of
    deploy/nginx/ggufd.conf, or the same fields plus `attempts=` from
    deploy/envoy/envoy.yaml."""

    LINE = re.compile(
        r'"(?P<uri>[^"]*)" (?P<status>\d+) grpc_status=(?P<grpc>\S*) '
        r"upstream=(?P<upstream>.*?) upstream_status=(?P<upstream_status>.*?) grpc_timeout="
        r"(?:.* attempts=(?P<attempts>\d+))?"
    )

    @staticmethod
    def proxy_retried(line: dict[str, str]) -> bool:
        """nginx lists every replica it tried; Envoy counts attempts."""
        return "," in line["upstream"] or int(line["attempts"] or 1) > 1

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size

    def lines(self) -> list[dict[str, str]]:
        with self.path.open(errors="replace") as f:
            f.seek(self.offset)
            text = f.read()
        return [m.groupdict() for m in map(self.LINE.search, text.splitlines()) if m]

    def wait_lines(self, method: str, n: int) -> list[dict[str, str]]:
        """The lines since the mark once `n` calls of `method` are in (a
        proxy may write its log a moment after the call ended)."""

        def enough() -> list[dict[str, str]] | None:
            lines = self.lines()
            calls = sum(1 for x in lines if x["uri"].endswith("/" + method))
            return lines if calls >= n else None

        return poll(f"{n} {method} lines in the access log", enough, timeout=30)


class Checks:
    def __init__(self, proxy: str, replicas: list[Replica], access_log: AccessLog) -> None:
        self.proxy = proxy
        self.replicas = replicas
        self.log = access_log
        # The client as users make it: default retry policy (UNAVAILABLE and
        # RESOURCE_EXHAUSTED, 4 attempts) in the channel's service config.
        self.client = ggufd.Client(proxy, timeout=60)
        self.results: list[tuple[str, bool, str]] = []
        self.survivor = replicas[0]  # the replica left after failover()

    def run(self, name: str, check: Callable[[], str]) -> None:
        try:
            detail, ok = check(), True
        except Exception as e:  # a failed check must not stop the others
            detail, ok = f"{type(e).__name__}: {e}", False
        self.results.append((name, ok, detail))
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)

    def find_rpc(self, request_id: str) -> tuple[Replica, dict[str, Any]]:
        def found() -> tuple[Replica, dict[str, Any]] | None:
            for r in self.replicas:
                line = r.rpc_line(request_id)
                if line is not None:
                    return r, line
            return None

        return poll(f"a replica to log request {request_id}", found)

    # --- the checks ---

    def spread(self) -> str:
        """Calls through the proxy land on both replicas."""
        method = "Inference/Generate"
        before = [r.count(method) for r in self.replicas]
        calls = 20  # Envoy picks among ties at random: all on one replica ~1e-6
        for _ in range(calls):
            self.client.complete("Hi", max_tokens=2)

        def grown() -> list[float] | None:
            d = [r.count(method) - b for r, b in zip(self.replicas, before)]
            return d if sum(d) >= calls else None

        deltas = poll("the replicas to count the calls", grown)
        share = ", ".join(f"{r.name} +{d:.0f}" for r, d in zip(self.replicas, deltas))
        assert all(d >= 1 for d in deltas), f"a replica got no call: {share}"
        return f"{calls} Generate calls: ggufd_requests_total {share}"

    def streaming(self) -> str:
        """The first token reaches the client while the replica is still
        generating: the client cancels after it, and the replica ends the call
        CANCELLED rather than having completed it (a buffering proxy would
        deliver the first token only with the last)."""
        rid = "proxy-stream-" + uuid.uuid4().hex
        gen = self.client.generate(
            LONG_PROMPT, max_tokens=LONG_TOKENS, ignore_eos=True, request_id=rid
        )
        events = 0
        for event in gen:
            events += 1
            if isinstance(event, ggufd.Chunk) and event.text:
                break
        else:
            raise AssertionError("the stream ended without a chunk")
        gen.cancel()
        replica, line = self.find_rpc(rid)
        assert line["code"] == "CANCELLED", f"{replica.name} logged {line}"
        return (
            f"first chunk after {events} events of {LONG_TOKENS} asked; the cancel "
            f"reached {replica.name}, which ended the call {line['code']} "
            f"({line.get('error', '')})"
        )

    def error_details(self) -> str:
        """An INVALID_ARGUMENT with ErrorInfo and BadRequest arrives through
        the proxy byte for byte as the replica sent it."""

        def call(address: str) -> grpc.RpcError:
            with grpc.insecure_channel(address) as channel:
                stub = inference_pb2_grpc.InferenceStub(channel)
                request = inference_pb2.GenerateRequest(text="Hi", request_id="proxy-details")
                request.sampling.repeat_penalty = 1e9  # outside [1e-4, 1e4]
                try:
                    for _ in stub.Generate(request, timeout=30):
                        pass
                except grpc.RpcError as e:
                    return e
            raise AssertionError(f"{address} accepted repeat_penalty 1e9")

        def details(e: grpc.RpcError) -> bytes:
            md = dict(e.trailing_metadata() or ())
            return bytes(md.get("grpc-status-details-bin", b""))

        direct = call(self.replicas[0].address)
        proxied = call(self.proxy)
        assert direct.code() == proxied.code() == grpc.StatusCode.INVALID_ARGUMENT, (
            direct.code(),
            proxied.code(),
        )
        assert details(proxied), "no grpc-status-details-bin trailer through the proxy"
        assert details(proxied) == details(direct), "the details changed on the way"
        assert proxied.details() == direct.details()
        err = ggufd.errors.from_rpc_error(proxied)
        assert isinstance(err, ggufd.InvalidArgumentError), type(err)
        assert (err.reason, err.error_code) == ("INVALID_ARGUMENT", 1), err
        assert err.field_violations, "no BadRequest field violation"
        v = err.field_violations[0]
        return (
            f"{proxied.code().name} with {len(details(proxied))} identical "
            f"grpc-status-details-bin bytes: ErrorInfo {err.reason}/{err.error_code}, "
            f"BadRequest {v.field}: {v.description!r}"
        )

    def deadline(self) -> str:
        """The client's deadline reaches ggufd as grpc-timeout and ggufd
        enforces it. Both replicas are kept busy (long generations sent to
        them directly), so a Tokenize through the proxy waits in a runtime's
        queue; when the worker comes to it after its deadline, ggufd drops it
        as DEADLINE_EXCEEDED. Without the header ggufd would see no deadline
        and count the Tokenize OK. Two callers: the Python client (its own
        timer races the server's), and, where curl is installed, curl sending
        only the header, so the DEADLINE_EXCEEDED it receives can only come
        from ggufd."""
        method = "Inference/Tokenize"
        before = sum(r.count(method, "DEADLINE_EXCEEDED") for r in self.replicas)
        before_ok = sum(r.count(method, "OK") for r in self.replicas)
        busy = [ggufd.Client(r.address) for r in self.replicas]
        gens = [
            c.generate(LONG_PROMPT, max_tokens=LONG_TOKENS, ignore_eos=True) for c in busy
        ]
        try:
            for g in gens:  # each runtime is generating once a chunk arrives
                next(e for e in g if isinstance(e, ggufd.Chunk))
            try:
                self.client.tokenize("hello", timeout=0.5)
                raise AssertionError("Tokenize through the proxy beat its deadline")
            except ggufd.DeadlineExceededError:
                pass
            curl_status = None
            if shutil.which("curl"):
                curl_status = self._curl_tokenize_with_header_deadline("500m")
        finally:
            for g in gens:
                g.cancel()
            for c in busy:
                c.close()
        assert curl_status in (None, "4"), f"curl (grpc-timeout only) got grpc-status {curl_status}"
        calls = 1 if curl_status is None else 2

        def counted() -> float | None:
            n = sum(r.count(method, "DEADLINE_EXCEEDED") for r in self.replicas) - before
            return n if n >= calls else None

        n = poll("the replicas to drop the Tokenize calls", counted)
        ok = sum(r.count(method, "OK") for r in self.replicas) - before_ok
        assert ok == 0, f"{ok} Tokenize calls ran past their deadline"
        curl = (
            "and a bare grpc-timeout: 500m header (curl, no client timer; it got grpc-status 4) "
            if curl_status
            else "(no curl here: the bare-header call was left out) "
        )
        return (
            f"client deadline 0.5 s {curl}ended by ggufd: "
            f"Tokenize DEADLINE_EXCEEDED +{n:.0f} on the replicas, none ran"
        )

    def _curl_tokenize_with_header_deadline(self, grpc_timeout: str) -> str:
        """grpc-status of a Tokenize sent by curl over h2c with a grpc-timeout
        header and no deadline of its own."""
        request = inference_pb2.TokenizeRequest(text="hello").SerializeToString()
        frame = b"\0" + len(request).to_bytes(4, "big") + request
        out = subprocess.run(
            [
                "curl", "-sS", "--http2-prior-knowledge", "--max-time", "60",
                "-H", "content-type: application/grpc", "-H", "te: trailers",
                "-H", f"grpc-timeout: {grpc_timeout}", "--data-binary", "@-",
                "-D", "-", "-o", "/dev/null",
                f"http://{self.proxy}/ggufd.v1.Inference/Tokenize",
            ],
            input=frame, capture_output=True, check=True,
        ).stdout.decode(errors="replace")
        m = re.search(r"^grpc-status: *(\d+)", out, re.M | re.I)
        return m.group(1) if m else f"(none in {out!r})"

    def session_affinity(self) -> str:
        """A session's turns sent with `x-ggufd-session` metadata stay on one
        replica, so each turn finds the previous ones' KV cache (HIT)."""
        stub = inference_pb2_grpc.InferenceStub(self.client.channel)
        name = inference_pb2.SessionCache.Name

        def turn(session: str, pinned: bool) -> str:
            request = inference_pb2.GenerateRequest(text=" Hello there.", session_id=session)
            request.stopping.max_tokens = 2
            md = [("x-ggufd-session", session)] if pinned else []
            started = None
            for ev in stub.Generate(request, timeout=60, metadata=md):
                if ev.HasField("started"):
                    started = ev.started
            assert started is not None
            return name(started.session_cache).removeprefix("SESSION_CACHE_")

        sid = "proxy-pinned-" + uuid.uuid4().hex[:8]
        pinned = [turn(sid, True) for _ in range(3)]
        assert pinned == ["NEW", "HIT", "HIT"], f"pinned turns: {pinned}"
        free_sid = "proxy-free-" + uuid.uuid4().hex[:8]
        free = [turn(free_sid, False) for _ in range(3)]
        return (
            f"pinned turns {'/'.join(pinned)}; the same without the header: "
            f"{'/'.join(free)} (turns land on either replica)"
        )

    def failover(self) -> str:
        """SIGKILL the replica that is streaming a generation through the
        proxy: that stream fails (a started call is never retried), and every
        new call after the kill succeeds on the survivor."""
        rid = "proxy-failover-" + uuid.uuid4().hex
        gen = self.client.generate(
            LONG_PROMPT, max_tokens=LONG_TOKENS, ignore_eos=True, request_id=rid
        )
        next(e for e in gen if isinstance(e, ggufd.Chunk))
        victim = poll(
            f"a replica to report running {rid}",
            lambda: next((r for r in self.replicas if r.running() == rid), None),
        )
        survivor = next(r for r in self.replicas if r is not victim)
        self.survivor = survivor
        self.log.mark()
        os.kill(victim.pid, signal.SIGKILL)
        try:
            for _ in gen:
                pass
            raise AssertionError("the stream on the killed replica ended normally")
        except ggufd.GgufdError as e:
            stream_end = e.grpc_code.name
        # The broken stream's own line first, so it is not read as one of
        # the calls below.
        self.log.wait_lines("Generate", 1)
        self.log.mark()
        calls = 10
        ok_before = survivor.count("Inference/Generate", "OK")
        failures = []
        for i in range(calls):
            try:
                self.client.complete("Hi", max_tokens=2)
            except ggufd.GgufdError as e:
                failures.append(f"call {i}: {e}")
        assert not failures, f"{len(failures)}/{calls} failed: {failures[:3]}"
        poll(
            f"{survivor.name} to count the calls",
            lambda: survivor.count("Inference/Generate", "OK") - ok_before >= calls,
        )
        lines = self.log.wait_lines("Generate", calls)
        retried = [x for x in lines if AccessLog.proxy_retried(x)]
        client_retried = sum(1 for x in lines if x["grpc"] == "14")
        layer = []
        if retried:
            x = retried[0]
            layer.append(
                f"the proxy retried {len(retried)} on the survivor (upstream "
                f"'{x['upstream']}', upstream_status '{x['upstream_status']}'"
                + (f", attempts {x['attempts']})" if x["attempts"] else ")")
            )
        if client_retried:
            layer.append(f"the client's retry policy retried {client_retried} UNAVAILABLE")
        return (
            f"killed {victim.name} mid-stream (the stream ended {stream_end}); "
            f"{calls}/{calls} calls after it succeeded on {survivor.name}: "
            f"{'; '.join(layer) or 'no call needed a retry'}"
        )

    def all_down(self) -> str:
        """With no replica left, a call ends UNAVAILABLE (the proxy's gRPC
        error page, not a hang or an HTML page), after the client's retry
        policy tried it maxAttempts times."""
        os.kill(self.survivor.pid, signal.SIGKILL)
        time.sleep(0.2)  # let the kernel refuse its port
        self.log.mark()
        try:
            self.client.tokenize("hello", timeout=30)
            raise AssertionError("a call succeeded with every replica dead")
        except ggufd.UnavailableError as e:
            message = e.message
        max_attempts = ggufd.RetryPolicy().max_attempts
        attempts = [
            x for x in self.log.wait_lines("Tokenize", max_attempts)
            if x["uri"].endswith("/Tokenize")
        ]
        assert all(x["grpc"] == "14" for x in attempts), attempts
        assert len(attempts) == max_attempts, attempts
        return (
            f"UNAVAILABLE {message!r} after {len(attempts)} attempts by the client's "
            f"retry policy (the proxy tried: {' | '.join(x['upstream'] for x in attempts)})"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--proxy", required=True, help="HOST:PORT of the proxy")
    ap.add_argument(
        "--replica", action="append", required=True,
        help="NAME,HOST:PORT,METRICS_PORT,LOG,PID (twice)",
    )
    ap.add_argument("--access-log", required=True, type=Path)
    ap.add_argument("--label", default="proxy")
    args = ap.parse_args()
    replicas = []
    for spec in args.replica:
        name, address, metrics, log, pid = spec.split(",")
        replicas.append(Replica(name, address, int(metrics), Path(log), int(pid)))
    assert len(replicas) == 2, "two replicas"
    checks = Checks(args.proxy, replicas, AccessLog(args.access_log))
    checks.run("spread: calls reach both replicas", checks.spread)
    checks.run("streaming: first token before the end, cancel reaches ggufd", checks.streaming)
    checks.run("error details: ErrorInfo/BadRequest intact", checks.error_details)
    checks.run("deadline: grpc-timeout reaches ggufd, which ends the call", checks.deadline)
    checks.run("sessions: x-ggufd-session pins a session to a replica", checks.session_affinity)
    checks.run("failover: SIGKILL one replica, new calls succeed", checks.failover)
    checks.run("all replicas down: UNAVAILABLE, retried by the client", checks.all_down)
    checks.client.close()
    failed = sum(1 for _, ok, _ in checks.results if not ok)
    print(f"{args.label}: {len(checks.results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
