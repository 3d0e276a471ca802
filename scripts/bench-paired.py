#!/usr/bin/env python3
"""Paired, interleaved wall-clock timing of short commands (scripts/bench.sh).

    bench-paired.py RUNS WARMUP OUT.json -- NAME1 'CMD1 ARGS' NAME2 'CMD2 ARGS' ...

Each round runs every command once, in turn (A B C A B C ...), so a burst of load from other work on a shared
machine falls on all of them alike; the report is each command's median and min, and each command's median of
per-round ratios to the first command. Commands are split on spaces (no shell) and started with posix_spawn,
stdin/stdout/stderr on /dev/null, exit codes ignored: the same start-up cost for every command.
"""
import json
import os
import statistics
import sys
import time


def main():
    runs, warmup, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rest = sys.argv[sys.argv.index("--") + 1:]
    commands = [(rest[i], rest[i + 1].split()) for i in range(0, len(rest), 2)]
    null = os.open(os.devnull, os.O_RDWR)
    actions = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)]

    def once(argv):
        start = time.perf_counter()
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
        os.waitpid(pid, 0)
        return (time.perf_counter() - start) * 1000

    for _ in range(warmup):
        for _, argv in commands:
            once(argv)
    times = [[] for _ in commands]
    for _ in range(runs):
        for i, (_, argv) in enumerate(commands):
            times[i].append(once(argv))
    results = []
    for i, (name, argv) in enumerate(commands):
        ratios = [t / b for t, b in zip(times[i], times[0])]
        results.append({"name": name, "command": " ".join(argv), "median": statistics.median(times[i]),
                        "min": min(times[i]), "ratio_to_first": statistics.median(ratios), "times": times[i]})
    with open(out, "w") as f:
        json.dump({"runs": runs, "results": results}, f, indent=1)
    for r in results:
        print(f"  {r['name']}: median {r['median']:.2f} ms, min {r['min']:.2f} ms, "
              f"{r['ratio_to_first']:.2f}x of {results[0]['name']}", file=sys.stderr)


main()
