"""Summarise py-spy collapsed stacks (``-f raw``): where each process spends its samples.

    .venv/bin/python bench/profile_report.py /tmp/prof [--top 25]

For each file prints the share of samples by inclusive frame (function and module) for our
code and the libraries it calls, so RESULTS.md can say where the time goes.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path


def frames(stack: str) -> list[str]:
    out = []
    for frame in stack.split(";"):
        if frame.startswith("process "):  # --subprocesses prefixes each stack with its pids
            continue
        name, _, where = frame.partition(" (")
        module = where.split(":")[0].rstrip(")")
        short = "/".join(module.split("/")[-2:])
        out.append(f"{name} ({short})")
    return out


def report(path: Path, top: int, loop_only: bool = False) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        # in the loop: asyncio's, or (granian's worker) callbacks its Rust loop calls directly
        in_loop = "BaseEventLoop._run_once" in stack or "_run_module_as_main" not in stack
        if loop_only and not in_loop:
            continue  # start-up and imports, not the work being measured
        total += n
        names = frames(stack) or ["<no Python frame: native code or idle>"]
        for name in set(names):
            inclusive[name] += n
        leaf[names[-1]] += n
    print(f"\n== {path.name}: {total} samples")
    print("-- inclusive")
    for name, n in inclusive.most_common(top):
        print(f"{100 * n / total:5.1f}%  {name}")
    print("-- self")
    for name, n in leaf.most_common(top):
        print(f"{100 * n / total:5.1f}%  {name}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--loop", action="store_true", help="only samples taken inside the event loop"
    )
    parser.add_argument("--only", help="only files whose name starts with this")
    args = parser.parse_args()
    for path in sorted(args.folder.glob(f"{args.only or ''}*.txt")):
        report(path, args.top, args.loop)


if __name__ == "__main__":
    main()
