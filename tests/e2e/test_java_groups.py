"""Consumer groups with Kafka's own Java clients (kafka-clients 3.9): the CooperativeStickyAssignor
through a rebalance (partitions move without a full revoke, every record consumed once), the
AdminClient's group operations (list, describe, list offsets, delete offsets, delete groups), and the
range and round-robin assignors.

The checks live in tests/e2e/java (GroupCheck.java, in the Maven project of ClientCheck.java), built
once per session; each test runs one subcommand against a fresh gateway and expects exit code 0 (it
prints one line per check, "FAIL: ..." for a failed one)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

JAVA_DIR = Path(__file__).resolve().parent / "java"
JAVA = shutil.which("java")
MVN = shutil.which("mvn")
pytestmark = pytest.mark.skipif(JAVA is None or MVN is None, reason="java and mvn (Maven) are needed for the Java client tests")

# No initial rebalance delay (Kafka's 3 s would only slow the tests down).
GROUP_PROPERTIES = {"group.initial.rebalance.delay.ms": "0"}


@pytest.fixture(scope="session")
def group_check():
    """Builds the Maven project (target/classes + dependencies in target/lib) and returns a runner."""
    build = subprocess.run([MVN, "-q", "-B", "-Dstyle.color=never", "package"], cwd=JAVA_DIR,
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, f"mvn package failed ({build.returncode}):\n{build.stdout[-6000:]}\n{build.stderr[-4000:]}"
    classpath = os.pathsep.join([str(JAVA_DIR / "target" / "classes"), str(JAVA_DIR / "target" / "lib" / "*")])

    def run(subcommand, gateway, *args, timeout=120):
        cmd = [JAVA, "-cp", classpath, "gateway.e2e.GroupCheck", subcommand, "--bootstrap", gateway.bootstrap, *args]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"GroupCheck {subcommand} hung for {timeout} s\n--- stdout ---\n{(e.stdout or b'')[-6000:]}\n"
                        f"--- gateway log ---\n{gateway.log_text()}")
        assert r.returncode == 0, (
            f"GroupCheck {subcommand} {' '.join(args)} exited {r.returncode}\n"
            f"--- failed checks ---\n" + "".join(l + "\n" for l in r.stdout.splitlines() if not l.startswith("ok: ")) +
            f"--- stdout ---\n{r.stdout[-8000:]}\n--- stderr (client log) ---\n{r.stderr[-8000:]}\n"
            f"--- gateway log ---\n{gateway.log_text()}")
        return r.stdout

    return run


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
