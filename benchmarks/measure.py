"""Run a command and print its wall time, CPU time and peak memory (largest process) as JSON."""

import json
import resource
import subprocess
import sys
import time

started = time.monotonic()
completed = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
wall = time.monotonic() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "returncode": completed.returncode,
    "wall_s": wall,
    "cpu_s": usage.ru_utime + usage.ru_stime,
    "peak_rss_mb": usage.ru_maxrss / 1024.0,
    "stderr_tail": completed.stderr.decode(errors="replace")[-1500:],
}))
