"""Kafka's own Java clients (kafka-clients 3.9, the reference client) against the gateway: AdminClient
topic management, KafkaProducer with its defaults (acks=all, idempotence), KafkaConsumer with assign()
and no group, every compression codec, and a restart in between.

The checks live in tests/e2e/java (ClientCheck.java), built once per session with Maven; each test runs
one of its subcommands against a fresh gateway and expects exit code 0 (it prints one line per check)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

JAVA_DIR = Path(__file__).resolve().parent / "java"
JAVA = shutil.which("java")
MVN = shutil.which("mvn")
pytestmark = pytest.mark.skipif(JAVA is None or MVN is None, reason="java and mvn (Maven) are needed for the Java client tests")

@pytest.fixture(scope="session")
def client_check():
    """Builds ClientCheck (target/classes + dependencies copied to target/lib) and returns a runner."""
    build = subprocess.run([MVN, "-q", "-B", "-Dstyle.color=never", "package"], cwd=JAVA_DIR,
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, f"mvn package failed ({build.returncode}):\n{build.stdout[-6000:]}\n{build.stderr[-4000:]}"
    classpath = os.pathsep.join([str(JAVA_DIR / "target" / "classes"), str(JAVA_DIR / "target" / "lib" / "*")])

    def run(subcommand, gateway, *args, timeout=240):
        cmd = [JAVA, "-cp", classpath, "gateway.e2e.ClientCheck", subcommand, "--bootstrap", gateway.bootstrap, *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        assert r.returncode == 0, (
            f"ClientCheck {subcommand} {' '.join(args)} exited {r.returncode}\n"
            f"--- failed checks ---\n" + "".join(l + "\n" for l in r.stdout.splitlines() if not l.startswith("ok: ")) +
            f"--- stdout ---\n{r.stdout[-8000:]}\n--- stderr (client log) ---\n{r.stderr[-8000:]}\n"
            f"--- gateway log ---\n{gateway.log_text()}")
        return r.stdout

    return run


def test_admin_client(gateway, client_check):
    out = client_check("admin", gateway, "--topic", "java-admin")
    assert "listTopics no longer has java-admin" in out


def test_producer_consumer_roundtrip(gateway, client_check):
    client_check("roundtrip", gateway, "--topic", "java-roundtrip", "--count", "5000", "--partitions", "3")


@pytest.mark.parametrize("codec", ["zstd", "lz4", "gzip", "snappy"])
def test_compressed_roundtrip(gateway, client_check, codec):
    # Timestamp lookups (offsetsForTimes, max timestamp) must find the exact record inside the
    # compressed batches, as Kafka does.
    client_check("roundtrip", gateway, "--topic", f"java-{codec}", "--count", "3000", "--partitions", "3",
                 "--compression", codec)


def test_consumer_uses_incremental_fetch_sessions(make_gateway, client_check):
    # The Java consumer opens a fetch session (KIP-227) and then sends incremental fetches; records
    # must still arrive complete and in order (the roundtrip checks that).
    gateway = make_gateway(extra_args=["--log-level", "debug"])
    client_check("roundtrip", gateway, "--topic", "java-sessions", "--count", "3000", "--partitions", "4")
    log = gateway.log_path.read_text(errors="replace")
    assert "opened fetch session" in log, gateway.log_text()
    assert "incremental fetch in session" in log, gateway.log_text()


def test_small_fetch_limits_still_return_large_batches(gateway, client_check):
    # fetch.max.bytes and max.partition.fetch.bytes of 1000 bytes, with 50-70 KB records among the rest.
    client_check("roundtrip", gateway, "--topic", "java-small-fetch", "--count", "1000", "--partitions", "2",
                 "--fetch-max-bytes", "1000")


def test_auto_created_topic(gateway, client_check):
    client_check("produce", gateway, "--topic", "java-auto", "--count", "500", "--create", "no")
    client_check("consume", gateway, "--topic", "java-auto", "--count", "500", "--partitions", "1")


def test_restart_between_produce_and_consume(gateway, client_check):
    client_check("produce", gateway, "--topic", "java-restart", "--count", "2000", "--compression", "lz4")
    gateway.restart()
    client_check("produce", gateway, "--topic", "java-restart", "--first", "2000", "--count", "1000")
    client_check("consume", gateway, "--topic", "java-restart", "--count", "3000")
