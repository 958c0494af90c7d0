"""Runs the Java client checks of tests/e2e/java (a Maven project with Kafka's own kafka-clients):
builds it once per test session, then runs one subcommand of a main class against a gateway and fails
the test with the failed checks, the client's log and the gateway's log when it exits non-zero."""

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

JAVA_DIR = Path(__file__).resolve().parent / "java"
JAVA = shutil.which("java")
MVN = shutil.which("mvn")
needs_java = pytest.mark.skipif(JAVA is None or MVN is None, reason="java and mvn (Maven) are needed for the Java client tests")


@functools.lru_cache(maxsize=None)
def classpath() -> str:
    """Builds target/classes and copies the dependencies to target/lib (once)."""
    build = subprocess.run([MVN, "-q", "-B", "-Dstyle.color=never", "package"], cwd=JAVA_DIR,
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, f"mvn package failed ({build.returncode}):\n{build.stdout[-6000:]}\n{build.stderr[-4000:]}"
    return os.pathsep.join([str(JAVA_DIR / "target" / "classes"), str(JAVA_DIR / "target" / "lib" / "*")])


def runner(main_class: str, default_timeout: int):
    """A function (subcommand, gateway, *args, timeout=...) -> stdout for gateway.e2e.<main_class>."""
    cp = classpath()

    def run(subcommand, gateway, *args, timeout=default_timeout):
        cmd = [JAVA, "-cp", cp, f"gateway.e2e.{main_class}", subcommand, "--bootstrap", gateway.bootstrap, *args]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"{main_class} {subcommand} hung for {timeout} s\n--- stdout ---\n{(e.stdout or b'')[-6000:]}\n"
                        f"--- gateway log ---\n{gateway.log_text()}")
        assert r.returncode == 0, (
            f"{main_class} {subcommand} {' '.join(args)} exited {r.returncode}\n"
            f"--- failed checks ---\n" + "".join(l + "\n" for l in r.stdout.splitlines() if not l.startswith("ok: ")) +
            f"--- stdout ---\n{r.stdout[-8000:]}\n--- stderr (client log) ---\n{r.stderr[-8000:]}\n"
            f"--- gateway log ---\n{gateway.log_text()}")
        return r.stdout

    return run
