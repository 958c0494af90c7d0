"""Consumer groups with Kafka's own Java clients (kafka-clients 3.9): the CooperativeStickyAssignor
through a rebalance (partitions move without a full revoke, every record consumed once), the
AdminClient's group operations (list, describe, list offsets, delete offsets, delete groups), and the
range and round-robin assignors.

The checks live in tests/e2e/java (GroupCheck.java, in the Maven project of ClientCheck.java), built
once per session; each test runs one subcommand against a fresh gateway and expects exit code 0 (it
prints one line per check, "FAIL: ..." for a failed one)."""

import pytest

import java_checks

pytestmark = java_checks.needs_java

# No initial rebalance delay (Kafka's 3 s would only slow the tests down).
GROUP_PROPERTIES = {"group.initial.rebalance.delay.ms": "0"}


@pytest.fixture(scope="session")
def group_check():
    return java_checks.runner("GroupCheck", 120)


def test_cooperative_sticky_rebalance(make_gateway, group_check):
    g = make_gateway(properties=GROUP_PROPERTIES)
    out = group_check("cooperative", g, "--topic", "java-coop", "--count", "2000")
    assert "never a full revoke) = 3" in out


def test_admin_client_group_operations(make_gateway, group_check):
    g = make_gateway(properties=GROUP_PROPERTIES)
    out = group_check("admin", g, "--topic", "java-group-admin")
    assert "deleteConsumerGroups with an active member -> GroupNotEmptyException" in out


def test_range_and_round_robin_assignors(make_gateway, group_check):
    g = make_gateway(properties=GROUP_PROPERTIES)
    out = group_check("assignors", g, "--topic", "java-assignors")
    assert "roundrobin: the group's assignor = roundrobin" in out
