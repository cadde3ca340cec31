#!/usr/bin/env python3
"""Runs one command and writes "cpu_s wall_s peak_rss_kib" to OUT.

    measure.py OUT COMMAND [ARGS...]

CPU seconds are user + system of the child from wait4(), at microsecond
resolution: /usr/bin/time prints hundredths, too coarse for the read floor
(about 0.02 s on the mixed workload). The command's stdout and stderr pass
through; the exit status is the command's.
"""
import os
import sys
import time


def main() -> int:
    out, argv = sys.argv[1], sys.argv[2:]
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            print(f"{argv[0]}: {e}", file=sys.stderr)
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    cpu = usage.ru_utime + usage.ru_stime
    with open(out, "w") as f:
        f.write(f"{cpu:.6f} {wall:.6f} {usage.ru_maxrss}\n")
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
