"""Kafka's own Java clients (kafka-clients 3.9, the reference client) against the gateway: AdminClient
topic management, KafkaProducer with its defaults (acks=all, idempotence), KafkaConsumer with assign()
and no group, every compression codec, and a restart in between.

The checks live in tests/e2e/java (ClientCheck.java), built once per session with Maven; each test runs
one of its subcommands against a fresh gateway and expects exit code 0 (it prints one line per check)."""

import pytest

import java_checks

pytestmark = java_checks.needs_java


@pytest.fixture(scope="session")
def client_check():
    return java_checks.runner("ClientCheck", 240)


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
