"""`make demo`: seed the KMS emulator and run the main job against it, end to end.

Starts the rule-enforcing emulator on loopback, seeds one key of every kind in two
Regions, then runs the playbook given (by default the demo playbook) first in check
mode with diff, then for real, then in check mode again, printing what it found and did.
"""

import json
import os
import subprocess
import tempfile
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from emulator import Emulator  # noqa: E402  pylint: disable=wrong-import-position
from seed import KINDS, seed  # noqa: E402  pylint: disable=wrong-import-position

ACCOUNT = "111111111111"
REGIONS = ("us-east-1", "us-west-2")
PLAYBOOK = os.path.join(HERE, "demo_playbook.yml")


def banner(text):
    print("\n" + "=" * 78 + "\n" + text + "\n" + "=" * 78, flush=True)


def run(emulator, title, extra, keys_file):
    banner(title)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    env.update(emulator.connection_env(ACCOUNT, REGIONS[0]))
    command = ["ansible-playbook", PLAYBOOK, "-e", "ansible_python_interpreter=" + sys.executable,
               "-e", "@" + keys_file] + extra
    return subprocess.run(command, env=env, cwd=COLLECTION, check=False).returncode


def main():
    emulator = Emulator.start()
    try:
        clients = {region: emulator.client(ACCOUNT, region) for region in REGIONS}
        banner("Seeding the KMS emulator at %s (account %s)" % (emulator.url, ACCOUNT))
        demo_keys = {}
        for region in REGIONS:
            for key in seed(clients, region):
                demo_keys.setdefault(region, []).append(key["alias"])
                print("  %-10s %-18s %s  %s" % (region, key["kind"], key["key_id"], KINDS[key["kind"]]))
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as keys_file:
            json.dump({"demo_keys": demo_keys}, keys_file)
        codes = [
            run(emulator, "1/3 Compliance report: check mode with diff (changes nothing)", ["--check", "--diff"],
                keys_file.name),
            run(emulator, "2/3 Remediation: rescue keys pending deletion, enforce rotation", [], keys_file.name),
            run(emulator, "3/3 Report again: nothing left to change", ["--check"], keys_file.name),
        ]
        os.unlink(keys_file.name)
        banner("Demo finished: playbook exit codes %s" % codes)
        return 0 if codes == [0, 0, 0] else 1
    finally:
        emulator.stop()


if __name__ == "__main__":
    sys.exit(main())
