"""A real `ggufd serve` on 127.0.0.1 with free ports, its log kept as it is
written, and an Inference stub (from the Python client's generated code),
for the end-to-end tests that talk to a server."""

import json
import signal
import subprocess
import threading

import grpc


class GrpcServer:
    def __init__(self, ggufd_bin, model, *extra, threads=2):
        args = [str(ggufd_bin), "serve", "--listen", "127.0.0.1:0", "--model", str(model),
                "--threads", str(threads), *extra]
        if "--metrics-port" not in extra:
            args += ["--metrics-port", "-1"]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        self.log: list[str] = []
        self.listening: dict = {}
        ready = threading.Event()

        def read_log():
            for line in self.process.stderr:
                self.log.append(line)
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("msg") == "listening":
                    self.listening = entry
                    ready.set()
            ready.set()

        self._reader = threading.Thread(target=read_log, daemon=True)
        self._reader.start()
        if not ready.wait(60) or not self.listening:
            self.stop()
            raise AssertionError("ggufd did not start:\n" + "".join(self.log))
        self.port = int(self.listening["port"])
        from ggufd.v1 import inference_pb2, inference_pb2_grpc
        self.pb = inference_pb2
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        self.inference = inference_pb2_grpc.InferenceStub(self.channel)

    def stop(self, sig=signal.SIGTERM):
        """Signals the server and waits for it; returns its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)
        return self.process.returncode

    def close(self):
        if hasattr(self, "channel"):
            self.channel.close()
        self.stop()
