"""`make demo`: the main job end to end against a seeded KMS emulator.

Starts the rule-enforcing emulator on loopback and builds an AWS Organization in it (a management
account and two member accounts in OUs), seeds every kind of key in two Regions of each member and
the Security Hub findings their controls would raise. The keyguard.kms.aws_accounts inventory plugin
turns the Organization into hosts, whose modules assume a role in their member account. Then it runs
keyguard.kms.report, keyguard.kms.remediate (recording the outcome on each finding) and
keyguard.kms.report again, and prints the findings' workflow before and after and where the reports are.
"""

import json
import os
import subprocess
import sys
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from emulator import SECRET_KEY, Emulator  # noqa: E402  pylint: disable=wrong-import-position
from findings import seed_findings  # noqa: E402  pylint: disable=wrong-import-position
from organization import ROLE_NAME, build_organization  # noqa: E402  pylint: disable=wrong-import-position
from seed import KINDS, create_key, seed  # noqa: E402  pylint: disable=wrong-import-position

MANAGEMENT_ACCOUNT = "111111111111"
LAYOUT = {"Workloads/Prod": ["prod"], "Workloads/Dev": ["dev"]}
REGIONS = ("us-east-1", "us-west-2")
OUTPUT = os.path.abspath(os.environ.get("KEYGUARD_DEMO_DIR", "demo-output"))
INTENDED_DELETION = {"keyguard:intended-deletion": "true"}


def banner(text):
    print("\n" + "=" * 78 + "\n" + text + "\n" + "=" * 78, flush=True)


def write_inventory(emulator):
    """The inventory a user writes for an Organization: the plugin's file and the role's settings beside it."""
    inventory = {
        "plugin": "keyguard.kms.aws_accounts",
        "access_key": MANAGEMENT_ACCOUNT, "secret_key": SECRET_KEY, "endpoint_url": emulator.url,
        "region": REGIONS[0],
        "assume_role_name": ROLE_NAME,
        "regions": list(REGIONS),
        "exclude_accounts": [MANAGEMENT_ACCOUNT],
        "hostname": "account_name",
        "keyed_groups": [{"key": "aws_account_ou_path", "prefix": "ou"}],
        "groups": {"kms_targets": True},
    }
    settings = dict(emulator.target_host(MANAGEMENT_ACCOUNT, REGIONS, os.path.join(OUTPUT, "reports")),
                    rotation_exempt_tags=INTENDED_DELETION, rotation_securityhub_update=True,
                    rotation_securityhub_suppress_exempt=True)
    del settings["rotation_regions"]  # each account's own, from the plugin
    os.makedirs(os.path.join(OUTPUT, "group_vars"), exist_ok=True)
    with open(os.path.join(OUTPUT, "group_vars", "all.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(settings, handle, sort_keys=False)
    path = os.path.join(OUTPUT, "org.aws_accounts.yml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle, sort_keys=False)
    return path


def run(title, command):
    banner(title)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false")
    print("$ " + " ".join(command), flush=True)
    return subprocess.run(command, env=env, check=False).returncode


def show_summary(step, hosts):
    for host in hosts:
        path = os.path.join(OUTPUT, "reports", host + ".json")
        with open(path, encoding="utf-8") as handle:
            summary = json.load(handle)["summary"]
        counts = ", ".join("%s=%d" % item for item in summary["after"].items() if item[1])
        print("  %-10s after %-9s %s; keys changed: %d" % (host, step, counts, summary["keys_changed"]))


def show_findings(emulator, accounts):
    """Each failed KMS finding of the demo accounts: control, compliance and workflow status, note."""
    with urllib.request.urlopen(emulator.url + "/_emulator/findings", timeout=30) as response:
        found = json.load(response)
    names = dict((account, host) for host, account in accounts.items())
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
        banner("An AWS Organization in the KMS emulator at %s, and its keys" % emulator.url)
        members, _units = build_organization(emulator, MANAGEMENT_ACCOUNT, LAYOUT)
        accounts = dict((name, member["id"]) for name, member in members.items())
        for host, account in accounts.items():
            print("  %-5s account %s in %s" % (host, account, members[host]["ou_path"]))
        for host, account in accounts.items():
            clients = {region: emulator.client(account, region) for region in REGIONS}
            emulator_keys = {}
            for region in REGIONS:
                emulator_keys[region] = seed(clients, region)
                for key in emulator_keys[region]:
                    print("  %-5s %-10s %-17s %s" % (host, region, key["kind"], KINDS[key["kind"]]))
            keys = [key for region in REGIONS for key in emulator_keys[region]]
            keys.append(create_key(clients, REGIONS[0], "pending_off", 9, tags=INTENDED_DELETION))
            print("  %-5s %-10s %-17s %s" % (host, REGIONS[0], "pending_off", "really meant to be deleted (exempt tag)"))
            seed_findings(emulator, account, keys)
        inventory = write_inventory(emulator)
        codes = [run("The Organization as an inventory (keyguard.kms.aws_accounts)",
                     ["ansible-inventory", "-i", inventory, "--graph"])]
        banner("Security Hub findings before (control, compliance, workflow status, note)")
        show_findings(emulator, accounts)
        steps = [
            ("1/3 Compliance report (keyguard.kms.report): changes nothing", "report", [], "report"),
            ("2/3 Remediation (keyguard.kms.remediate): KMS.3 rescue, KMS.4 rotation, verify, report",
             "remediate", ["--diff"], "remediate"),
            ("3/3 Compliance report again", "report", [], "report"),
        ]
        for title, playbook, extra, step in steps:
            codes.append(run(title, ["ansible-playbook", "-i", inventory, "keyguard.kms." + playbook] + extra))
            show_summary(step, accounts)
        banner("Security Hub findings after: remediated keys RESOLVED with a note, the exempt key SUPPRESSED,\n"
               "disabled keys NOTIFIED for their owners")
        show_findings(emulator, accounts)
        banner("Demo finished (exit codes %s). Reports: %s/reports/<host>.{json,md,junit.xml}; the Organization in one "
               "view: %s/reports/organization.html (and .json, .csv, .md)" % (codes, OUTPUT, OUTPUT))
        return 0 if codes == [0, 0, 0, 0] else 1
    finally:
        emulator.stop()


if __name__ == "__main__":
    sys.exit(main())
