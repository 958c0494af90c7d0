#!/usr/bin/env python3
"""Records the request frames real Kafka clients send, as fixtures for capture_test.cc.

A recording proxy sits between each client and a kafka-gateway (memory:// storage) that advertises
the proxy's address, so every connection of the client (bootstrap and broker) goes through it.  The
proxy cuts the client's byte stream into frames (4-byte length + frame) and keeps the first frame of
every (API, version) a client sends, byte for byte, length prefix included:

    fixtures/<client>/<Api>-v<version>.bin

and writes fixtures/MANIFEST.json (client, client version, command, API, version, size, sha256).
The test reads only the fixtures; this script remakes them:

    /usr/bin/python3 tests/captures/capture.py --gateway build/kafka-gateway [--clients kcat,kafka-python,java]

Clients: kcat (librdkafka, Debian), kafka-python (/usr/bin/python3 -c 'import kafka'), Java
kafka-clients (the jars of tests/e2e/java/target/lib; `mvn -q -f tests/e2e/java/pom.xml package` makes
them).  Each runs a producer, a plain consumer and a group consumer that commits, bounded in time.
"""

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIXTURES = HERE / "fixtures"
JAVA_LIB = ROOT / "tests" / "e2e" / "java" / "target" / "lib"
SYSTEM_PYTHON = "/usr/bin/python3"   # Debian's python3-kafka lives there

# API keys we name files by (the rest are named key<N>).
API_NAMES = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit", 9: "OffsetFetch",
             10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup",
             15: "DescribeGroups", 16: "ListGroups", 17: "SaslHandshake", 18: "ApiVersions", 19: "CreateTopics",
             20: "DeleteTopics", 22: "InitProducerId", 32: "DescribeConfigs", 60: "DescribeCluster",
             71: "GetTelemetrySubscriptions"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc=None, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


class RecordingProxy:
    """Forwards 127.0.0.1:listen_port to the gateway; records every request frame of the current client."""

    def __init__(self, listen_port: int, upstream_port: int):
        self.listen_port, self.upstream_port = listen_port, upstream_port
        self.frames = []          # (api_key, api_version, frame bytes incl. length prefix)
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        wait_listening(self.listen_port)

    def take(self):
        with self.lock:
            frames, self.frames = self.frames, []
        return frames

    def _run(self):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", self.listen_port))
        self.loop.run_until_complete(server.serve_forever())

    async def _client(self, creader, cwriter):
        try:
            ureader, uwriter = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            cwriter.close()
            return

        async def requests():
            try:
                while True:
                    prefix = await creader.readexactly(4)
                    (n,) = struct.unpack(">i", prefix)
                    frame = await creader.readexactly(n)
                    if n >= 4:
                        key, version = struct.unpack(">hh", frame[:4])
                        with self.lock:
                            self.frames.append((key, version, prefix + frame))
                    uwriter.write(prefix + frame)
                    await uwriter.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                uwriter.close()

        async def responses():
            try:
                while data := await ureader.read(65536):
                    cwriter.write(data)
                    await cwriter.drain()
            except ConnectionError:
                pass
            finally:
                cwriter.close()

        await asyncio.gather(requests(), responses())


def run_client(label, command, env=None, timeout=90, stdin=None):
    print(f"== {label}: {' '.join(command)}", flush=True)
    try:
        p = subprocess.run(command, input=stdin, capture_output=True, timeout=timeout, env=env)
        print(f"   exit {p.returncode}; stdout: {p.stdout.decode(errors='replace')[-400:].strip()}", flush=True)
        if p.returncode != 0:
            print(f"   stderr: {p.stderr.decode(errors='replace')[-1500:].strip()}", flush=True)
    except subprocess.TimeoutExpired:
        print(f"   timed out after {timeout}s (frames sent so far are kept)", flush=True)


def kcat_version():
    out = subprocess.run(["kcat", "-V"], capture_output=True, text=True).stdout
    line = next((l for l in out.splitlines() if l.startswith("Version")), "")
    return line.split(" (")[0].replace("Version ", "kcat ") + " / " + line.split("librdkafka ")[1].split(" ")[0] \
        if "librdkafka" in line else line


def kcat_runs(bootstrap, topic):
    common = ["-b", bootstrap, "-X", "client.id=capture-kcat"]
    return [
        ("producer", ["kcat", "-P", "-t", topic, "-K:", *common], b"k1:v1\nk2:v2\nk3:v3\n"),
        ("consumer", ["kcat", "-C", "-t", topic, "-o", "beginning", "-c", "3", "-e", *common], None),
        ("group consumer", ["kcat", "-G", "capture-kcat-group", "-o", "beginning", "-c", "3", "-e",
                            "-X", "auto.commit.interval.ms=500", *common, topic], None),
    ]


def kafka_python_version():
    return "kafka-python " + subprocess.run([SYSTEM_PYTHON, "-c", "import kafka; print(kafka.__version__)"],
                                            capture_output=True, text=True).stdout.strip()


def java_version():
    jars = sorted(p.name for p in JAVA_LIB.glob("kafka-clients-*.jar"))
    return jars[0].removesuffix(".jar").replace("kafka-clients-", "Java kafka-clients ") if jars else ""


CLIENTS = {
    "kcat": (kcat_version, lambda b, t: kcat_runs(b, t)),
    "kafka-python": (kafka_python_version, lambda b, t: [
        ("producer, consumer, group consumer", [SYSTEM_PYTHON, str(HERE / "clients" / "kafka_python_client.py"), b, t], None)]),
    "java": (java_version, lambda b, t: [
        ("producer, consumer, group consumer",
         ["java", "-cp", f"{JAVA_LIB}/*", str(HERE / "clients" / "JavaCapture.java"), b, t], None)]),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gateway", required=True, help="the kafka-gateway binary")
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--log", default="/tmp/kgw-capture-gateway.log", help="where the gateway's log goes")
    args = ap.parse_args()

    gw_port, proxy_port = free_port(), free_port()
    bootstrap = f"127.0.0.1:{proxy_port}"
    log = open(args.log, "wb")
    gw = subprocess.Popen([args.gateway, "--listen", f"127.0.0.1:{gw_port}", "--advertised-listener", bootstrap,
                           "--storage", "memory://"], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_listening(gw_port, gw)
        proxy = RecordingProxy(proxy_port, gw_port)
        proxy.start()
        manifest_path = FIXTURES / "MANIFEST.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"clients": {}}
        for client in args.clients.split(","):
            version_of, runs = CLIENTS[client]
            out_dir = FIXTURES / client
            shutil.rmtree(out_dir, ignore_errors=True)
            out_dir.mkdir(parents=True)
            entry = {"client": version_of(), "commands": [], "fixtures": []}
            seen = set()
            for label, command, stdin in runs(bootstrap, f"capture-{client}"):
                proxy.take()
                run_client(f"{client} {label}", command, stdin=stdin, timeout=45)
                time.sleep(0.3)
                entry["commands"].append({"what": label, "command": " ".join(command).replace(bootstrap, "HOST:PORT")
                                           .replace(str(ROOT) + "/", "")})
                for key, version, frame in proxy.take():
                    if (key, version) in seen:
                        continue
                    seen.add((key, version))
                    name = f"{API_NAMES.get(key, f'key{key}')}-v{version}.bin"
                    (out_dir / name).write_bytes(frame)
                    entry["fixtures"].append({"file": f"{client}/{name}", "api_key": key, "api_version": version,
                                              "bytes": len(frame), "sent_by": label,
                                              "sha256": hashlib.sha256(frame).hexdigest()})
            entry["fixtures"].sort(key=lambda f: (f["api_key"], f["api_version"]))
            manifest["clients"][client] = entry
            print(f"{client}: {len(entry['fixtures'])} fixtures: " +
                  ", ".join(Path(f["file"]).stem for f in entry["fixtures"]), flush=True)
        manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    finally:
        gw.terminate()
        gw.wait(timeout=20)


if __name__ == "__main__":
    main()
