"""A real `ggufd serve` on 127.0.0.1 with a free port, and an Inference stub
(from the Python client's generated code), for the end-to-end tests that
talk gRPC."""

import json
import pathlib
import subprocess
import time

import grpc


class GrpcServer:
    def __init__(self, ggufd_bin, model, log_path, threads=2):
        self._log = open(log_path, "w+b")
        self.proc = subprocess.Popen(
            [str(ggufd_bin), "serve", "--listen", "127.0.0.1:0", "--metrics-port", "-1",
             "--model", str(model), "--threads", str(threads)],
            stdout=self._log, stderr=subprocess.STDOUT)
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline and self.proc.poll() is None:
            for line in pathlib.Path(log_path).read_text(errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("msg") == "listening":
                    port = entry["port"]
            time.sleep(0.05)
        assert port is not None, pathlib.Path(log_path).read_text(errors="replace")
        from ggufd.v1 import inference_pb2, inference_pb2_grpc
        self.pb = inference_pb2
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.inference = inference_pb2_grpc.InferenceStub(self.channel)

    def close(self):
        self.channel.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self._log.close()
