"""The light lane on the oldest ansible-core and amazon.aws the collection claims: one role run end to end.

Starts the emulator (with the main test environment's Python, where moto lives), seeds one account,
and runs keyguard.kms.remediate with the ansible-playbook of the environment given, then checks the
report: every key handled as expected. Used by `make compat`.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from emulator import Emulator  # noqa: E402  pylint: disable=wrong-import-position
from seed import seed  # noqa: E402  pylint: disable=wrong-import-position

KINDS = ["symmetric_off", "symmetric_on_180", "disabled_off", "pending_off", "hmac", "mr_replica"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="the bin folder of the environment under test")
    parser.add_argument("--emulator-python", required=True, help="a Python with moto, for the emulator")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="keyguard-compat-")
    emulator = Emulator.start(python=args.emulator_python)
    try:
        account = "555500000001"
        clients = {region: emulator.client(account, region) for region in ("us-east-1", "us-west-2")}
        keys = seed(clients, "us-east-1", kinds=KINDS)
        host = emulator.target_host(account, ["us-east-1"], os.path.join(work, "reports"))
        host["ansible_python_interpreter"] = os.path.join(args.bin, "python")
        inventory = os.path.join(work, "inventory.json")
        with open(inventory, "w", encoding="utf-8") as handle:
            json.dump({"all": {"children": {"kms_targets": {"hosts": {"compat": host}}}}}, handle)
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", PATH=args.bin + os.pathsep + os.environ["PATH"])
        version = subprocess.run([os.path.join(args.bin, "ansible-playbook"), "--version"], env=env,
                                 capture_output=True, text=True, check=True).stdout.splitlines()[0]
        codes = []
        for extra in (["--check", "--diff"], [], []):
            completed = subprocess.run([os.path.join(args.bin, "ansible-playbook"), "-i", inventory,
                                        "keyguard.kms.remediate"] + extra, env=env, capture_output=True, text=True,
                                       check=False)
            codes.append(completed.returncode)
            if completed.returncode:
                print(completed.stdout[-4000:], completed.stderr[-2000:])
        with open(os.path.join(work, "reports", "compat.json"), encoding="utf-8") as handle:
            report = json.load(handle)
        state = dict((k["metadata"]["KeyId"], k) for k in emulator.state(account))
        wrong = []
        for key in keys:
            found = state[key["key_id"]]
            rotating = bool(found["rotation_enabled"])
            if key["kind"] in ("symmetric_off", "symmetric_on_180", "pending_off") and not (
                    found["metadata"]["KeyState"] == "Enabled" and rotating):
                wrong.append(key["kind"])
            if key["kind"] == "disabled_off" and found["metadata"]["KeyState"] != "Disabled":
                wrong.append(key["kind"])
        print("%s: exit codes %s, %d keys, %d changed by the last run, wrong: %s" % (
            version, codes, report["summary"]["total"], report["summary"]["keys_changed"], wrong or "none"))
        return 0 if codes == [0, 0, 0] and not wrong and report["summary"]["keys_changed"] == 0 else 1
    finally:
        emulator.stop()


if __name__ == "__main__":
    sys.exit(main())
