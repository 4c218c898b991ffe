"""Run a command and write its own rusage (CPU, peak RSS) as JSON.

``python -m benchmarks.measure OUT.json -- CMD ...`` runs CMD with this
process's stdin, stdout and stderr and writes ``{"exit_code", "user_s",
"sys_s", "maxrss_kb"}`` to OUT.json. The benchmark starts plugins through it
because Linux carries a parent's peak RSS into a child forked from it: a
plugin forked straight from the benchmark (whose sandbox holds every course)
would report the benchmark's size, while one forked from this small process
reports its own.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    """Run the command after ``--``; exit with its exit code."""
    out, separator, *cmd = sys.argv[1:]
    if separator != "--" or not cmd:
        raise SystemExit("usage: python -m benchmarks.measure OUT.json -- CMD ...")
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(cmd[0], cmd)  # noqa: S606 - the benchmark's own plugins
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    result = {
        "exit_code": code,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "maxrss_kb": usage.ru_maxrss,
    }
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return code


if __name__ == "__main__":
    sys.exit(main())
