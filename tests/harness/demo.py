"""`make demo`: the main job end to end against a seeded KMS emulator.

Starts the rule-enforcing emulator on loopback, seeds every kind of key in two
Regions of two accounts (one inventory host each) and the Security Hub findings
their controls would raise, then runs keyguard.kms.report, keyguard.kms.remediate
(recording the outcome on each finding) and keyguard.kms.report again, and prints
the findings' workflow before and after and where the reports are.
"""

import json
import os
import subprocess
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from emulator import Emulator  # noqa: E402  pylint: disable=wrong-import-position
from findings import seed_findings  # noqa: E402  pylint: disable=wrong-import-position
from seed import KINDS, create_key, seed  # noqa: E402  pylint: disable=wrong-import-position

ACCOUNTS = {"demo-prod": "111111111111", "demo-dev": "222222222222"}
REGIONS = ("us-east-1", "us-west-2")
OUTPUT = os.path.abspath(os.environ.get("KEYGUARD_DEMO_DIR", "demo-output"))
INTENDED_DELETION = {"keyguard:intended-deletion": "true"}


def banner(text):
    print("\n" + "=" * 78 + "\n" + text + "\n" + "=" * 78, flush=True)


def write_inventory(emulator):
    hosts = {}
    for name, account in ACCOUNTS.items():
        hosts[name] = emulator.target_host(account, REGIONS, os.path.join(OUTPUT, "reports"),
                                           rotation_exempt_tags=INTENDED_DELETION,
                                           rotation_securityhub_update=True,
                                           rotation_securityhub_suppress_exempt=True)
    path = os.path.join(OUTPUT, "inventory.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"all": {"children": {"kms_targets": {"hosts": hosts}}}}, handle, indent=2)
    return path


def run(inventory, title, playbook, extra=()):
    banner(title)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false")
    command = ["ansible-playbook", "-i", inventory, "keyguard.kms." + playbook] + list(extra)
    print("$ " + " ".join(command), flush=True)
    return subprocess.run(command, env=env, check=False).returncode


def show_summary(step):
    for host in ACCOUNTS:
        path = os.path.join(OUTPUT, "reports", host + ".json")
        with open(path, encoding="utf-8") as handle:
            summary = json.load(handle)["summary"]
        counts = ", ".join("%s=%d" % item for item in summary["after"].items() if item[1])
        print("  %-10s after %-9s %s; keys changed: %d" % (host, step, counts, summary["keys_changed"]))


def show_findings(emulator):
    """Each failed KMS finding of the demo accounts: control, compliance and workflow status, note."""
    with urllib.request.urlopen(emulator.url + "/_emulator/findings", timeout=30) as response:
        found = json.load(response)
    names = dict((account, host) for host, account in ACCOUNTS.items())
    for item in found:
        finding = item["finding"]
        control = finding["Compliance"].get("SecurityControlId")
        if (item["account"] in names and control in ("KMS.3", "KMS.4") and finding["RecordState"] == "ACTIVE"
                and finding["Compliance"]["Status"] == "FAILED"):
            print("  %-9s %-9s %-5s %-6s %-10s %s" % (
                names[item["account"]], item["region"], control, finding["Compliance"]["Status"],
                finding["Workflow"]["Status"], (finding.get("Note") or {}).get("Text", "")[:70]))


def main():
    os.makedirs(OUTPUT, exist_ok=True)
    emulator = Emulator.start()
    try:
        banner("Seeding the KMS emulator at %s" % emulator.url)
        for host, account in ACCOUNTS.items():
            clients = {region: emulator.client(account, region) for region in REGIONS}
            emulator_keys = {}
            for region in REGIONS:
                emulator_keys[region] = seed(clients, region)
                for key in emulator_keys[region]:
                    print("  %-9s %-10s %-17s %s" % (host, region, key["kind"], KINDS[key["kind"]]))
            keys = [key for region in REGIONS for key in emulator_keys[region]]
            keys.append(create_key(clients, REGIONS[0], "pending_off", 9, tags=INTENDED_DELETION))
            print("  %-9s %-10s %-17s %s" % (host, REGIONS[0], "pending_off", "really meant to be deleted (exempt tag)"))
            seed_findings(emulator, account, keys)
        inventory = write_inventory(emulator)
        banner("Security Hub findings before (control, compliance, workflow status, note)")
        show_findings(emulator)
        steps = [
            ("1/3 Compliance report (keyguard.kms.report): changes nothing", "report", [], "report"),
            ("2/3 Remediation (keyguard.kms.remediate): KMS.3 rescue, KMS.4 rotation, verify, report",
             "remediate", ["--diff"], "remediate"),
            ("3/3 Compliance report again", "report", [], "report"),
        ]
        codes = []
        for title, playbook, extra, step in steps:
            codes.append(run(inventory, title, playbook, extra))
            show_summary(step)
        banner("Security Hub findings after: remediated keys RESOLVED with a note, the exempt key SUPPRESSED,\n"
               "disabled keys NOTIFIED for their owners")
        show_findings(emulator)
        banner("Demo finished (exit codes %s). Reports: %s/reports/<host>.{json,md,junit.xml}" % (codes, OUTPUT))
        return 0 if codes == [0, 0, 0] else 1
    finally:
        emulator.stop()


if __name__ == "__main__":
    sys.exit(main())
