"""Stand-in for the pip bootstrap script ansible-test downloads from a host CI cannot reach.

ansible-test runs it in a fresh virtual environment with the pip arguments it wants. The base
Python's pip installs them into that environment (pip's --python, a few seconds faster per
environment than ensurepip and an upgrade); without a pip there that can, ensurepip gives the
environment a pip, which then installs the requested versions from the package index.
"""

import os
import subprocess
import sys

SKIPPED = {"--no-setuptools", "--no-wheel"}
ARGUMENTS = ["install", "--upgrade"] + [arg for arg in sys.argv[1:] if arg not in SKIPPED]

BASE_PYTHON = os.path.join(sys.base_prefix, "bin", "python3")
if os.path.exists(BASE_PYTHON) and subprocess.run(
        [BASE_PYTHON, "-m", "pip", "--python", sys.executable] + ARGUMENTS, check=False).returncode == 0:
    sys.exit(0)
subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True, capture_output=True)
subprocess.run([sys.executable, "-m", "pip"] + ARGUMENTS, check=True)
