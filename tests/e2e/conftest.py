"""Starts a real kafka-gateway for each test on a free loopback port with its own data directory."""

import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("KGW_BINARY", ROOT / "build" / "kafka-gateway"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gateway:
    def __init__(self, data_dir: Path, extra_args=(), properties=None):
        self.data_dir = data_dir
        self.port = free_port()
        self.extra_args = list(extra_args)
        self.properties = properties or {}
        self.proc = None
        self.log_path = data_dir.parent / f"gateway-{self.port}.log"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self):
        args = [str(BINARY), "--listen", self.bootstrap, "--storage", f"file://{self.data_dir}", "--threads", "2"]
        if self.properties:
            cfg = self.data_dir.parent / f"gateway-{self.port}.properties"
            cfg.write_text("".join(f"{k}={v}\n" for k, v in self.properties.items()))
            args += ["--config", str(cfg)]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args + self.extra_args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("gateway did not start listening")

    def stop(self, sig=signal.SIGTERM, timeout=20) -> int:
        if self.proc is None:
            return 0
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            self.log.close()
        self.proc = None
        return code

    def restart(self):
        assert self.stop() == 0, self.log_text()
        return self.start()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


@pytest.fixture
def make_gateway():
    started = []
    tmp = tempfile.TemporaryDirectory(prefix="kgw-e2e-")

    def make(**kw):
        data = Path(tmp.name) / f"data-{len(started)}"
        g = Gateway(data, **kw).start()
        started.append(g)
        return g

    yield make
    for g in started:
        if g.proc is not None:
            code = g.stop()
            assert code == 0, f"gateway exited with {code} on SIGTERM:\n{g.log_text()}"
    tmp.cleanup()


@pytest.fixture
def gateway(make_gateway):
    return make_gateway()
