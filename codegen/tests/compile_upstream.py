#!/usr/bin/env python3
"""Generates C++ for every upstream Kafka schema in ../shared/kafka-message-specs, compiles and links it
with the runtime (no undefined symbols), then builds and runs the generated round-trip test over all of
them.  Prints SKIPPED when the reference copy is absent."""

import argparse
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "codegen"))

from kgen.generate import generate  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--specs", default=str(ROOT.parent / "shared" / "kafka-message-specs"))
    ap.add_argument("--compiler", default=os.environ.get("CXX", "c++"))
    ap.add_argument("--work", default="/tmp/kgw-upstream")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    specs = Path(args.specs)
    if not specs.is_dir():
        print(f"SKIPPED: no upstream schemas at {specs}")
        return 0
    n_schemas = len(list(specs.glob("*.json")))
    work = Path(args.work)
    out = work / "generated"
    started = time.time()
    files = generate(specs, out, with_tests=True)
    sources = [f for f in files if f.suffix == ".cc" and f.parent == out]
    fillers = [f for f in files if f.suffix == ".cc" and f.parent != out]
    print(f"generated {len(sources)} .cc files from {n_schemas} upstream schemas")
    # A few unity translation units keep this quick on two cores.
    units = []
    for prefix, group in (("unity", sources), ("fill", fillers)):
        for i in range(args.jobs):
            unit = work / f"{prefix}_{i}.cc"
            unit.write_text("".join(f'#include "{p}"\n' for p in group[i::args.jobs]))
            units.append(unit)
    # The codec half of runtime/; the server half (libevent) is not what this test is about.
    server = {"server.cc", "connection.cc", "dispatcher.cc", "request_frame.cc"}
    runtime = sorted(p for p in (ROOT / "runtime").glob("*.cc") if p.name not in server)
    flags = ["-std=c++20", "-O0", "-fPIC", "-Wall", "-Wextra", "-Wno-missing-field-initializers", "-Werror",
             f"-I{work}", f"-I{ROOT}"]

    def compile_one(src: Path):
        obj = work / (src.stem + ".o")
        r = subprocess.run([args.compiler, *flags, "-c", str(src), "-o", str(obj)], capture_output=True, text=True)
        return src, obj, r

    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(compile_one, units + runtime + [ROOT / "tests" / "roundtrip" / "roundtrip_test.cc"]))
    failed = [(s, r) for s, _, r in results if r.returncode != 0]
    for s, r in failed:
        print(f"FAILED to compile {s}:\n{r.stderr[:4000]}")
    if failed:
        return 1
    exe = work / "upstream_roundtrip"
    r = subprocess.run([args.compiler, "-o", str(exe), *[str(o) for _, o, _ in results], "-lgtest_main",
                        "-lgtest", "-lz", "-llz4", "-lzstd", "-lsnappy", "-pthread"], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAILED to link:\n{r.stderr[:4000]}")
        return 1
    print(f"all {n_schemas} upstream schemas generate, compile and link ({time.time() - started:.0f}s)")
    r = subprocess.run([str(exe), "--gtest_filter=Messages/*"], capture_output=True, text=True)
    pairs = sum(int(m.group(2)) - int(m.group(1)) + 1
                for m in re.finditer(r": versions (\d+)-(\d+), ", r.stdout))
    print(f"round trips: {pairs} upstream message x version pairs")
    print("\n".join(line for line in r.stdout.splitlines() if "FAILED" in line))
    if r.returncode != 0:
        print(r.stdout[-6000:])
        return 1
    print("round trips of every upstream message and version passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
