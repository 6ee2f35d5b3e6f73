"""Stand-in for the pip bootstrap script ansible-test downloads from a host CI cannot reach.

ansible-test runs it in a fresh virtual environment with the pip arguments it wants;
ensurepip gives that environment a pip, which then installs the requested versions
from the package index.
"""

import subprocess
import sys

SKIPPED = {"--no-setuptools", "--no-wheel"}

subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True, capture_output=True)
subprocess.run(
    [sys.executable, "-m", "pip", "install", "--upgrade"] + [arg for arg in sys.argv[1:] if arg not in SKIPPED],
    check=True,
)
