"""The Organization report at scale: built from many accounts' reports, and its page in a real browser.

Prints, never asserts: building the report from 2,000 accounts' JSON reports (40,000 keys) read from disk, with
its peak memory, and the HTML page of 300 accounts / 20,000 keys, its size and Debian chromium's load time.
Run from the built collection (make bench-organization).
"""

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# The collection tree instead of this folder, whose org.py would shadow a module of the standard library's pickle.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))

# pylint: disable=wrong-import-position
from ansible_collections.keyguard.kms.plugins.action.rotation_organization import reports_in_folder  # noqa: E402
from ansible_collections.keyguard.kms.plugins.plugin_utils._report import organization  # noqa: E402
from ansible_collections.keyguard.kms.plugins.plugin_utils._report.render_organization import \
    ORGANIZATION_RENDERERS  # noqa: E402

VERDICTS = [("COMPLIANT", None, "Enabled")] * 14 + [("NON_COMPLIANT", "ROTATION_DISABLED", "Enabled")] * 2 + [
    ("NON_COMPLIANT", "KEY_DISABLED", "Disabled"), ("NOT_APPLICABLE", "ASYMMETRIC", "Enabled"),
    ("EXEMPT", None, "PendingDeletion"), ("ERROR", "AccessDeniedException", None)]


def host_report(index, keys, rng):
    account = "%012d" % (100000000000 + index)
    entries = []
    for number in range(keys):
        compliance, reason, state = rng.choice(VERDICTS)
        verdict = {"compliance": compliance, "reason": reason, "key_state": state,
                   "rotation_enabled": compliance == "COMPLIANT", "rotation_period_days": 365}
        key_id = "%08x-0000-4000-8000-%012d" % (index, number)
        entries.append({"key_id": key_id, "key_arn": "arn:aws:kms:us-east-1:%s:key/%s" % (account, key_id),
                        "region": rng.choice(["us-east-1", "eu-west-1"]), "aliases": ["alias/k%d" % number],
                        "exempt": compliance == "EXEMPT", "exemption_reason": "CHG-1" if compliance == "EXEMPT" else None,
                        "before": verdict, "after": verdict, "actions": [], "message": "m", "error": None,
                        "evidence": {"creation_date": "2024-01-01T00:00:00+00:00", "next_rotation_date": None,
                                     "last_rotation_date": "2025-01-01T00:00:00+00:00",
                                     "last_rotation_type": "AUTOMATIC", "key_material_age_days": 334}})
    return {"schema_version": 1, "run": {"target": "acct-%d" % index, "account_id": account,
                                         "account_name": "team-%d" % index, "ou_path": "Root/OU-%d" % (index % 40)},
            "summary": {"compliant": False}, "keys": entries, "errors": []}


def chromium_load_seconds(page):
    chromium = shutil.which("chromium")
    if not chromium:
        return None
    started = time.monotonic()
    subprocess.run([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9",
                    "--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom", "--virtual-time-budget=5000",
                    "file://%s" % page], capture_output=True, timeout=300, check=False)
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--page-accounts", type=int, default=300)
    parser.add_argument("--page-keys", type=int, default=20000)
    args = parser.parse_args()
    rng = random.Random(7)
    work = tempfile.mkdtemp(prefix="keyguard-organization-bench-")
    try:
        for index in range(args.accounts):
            with open(os.path.join(work, "acct-%d.json" % index), "w", encoding="utf-8") as handle:
                json.dump(host_report(index, args.keys, rng), handle)
        started = time.monotonic()
        reports = reports_in_folder(work)
        report = organization.build_organization(reports, [], None, "2026-12-01T10:00:00Z", "summary")
        sizes = dict((name, len(render(report))) for name, (_file, render) in ORGANIZATION_RENDERERS.items())
        built = time.monotonic() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print("| Organization report | accounts | keys | wall s | peak MB | JSON MB | CSV MB | HTML MB |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        print("| from reports on disk, all five formats | %d | %d | %.1f | %.0f | %.1f | %.1f | %.1f |" % (
            args.accounts, report["summary"]["keys"], built, peak_mb, sizes["json"] / 1e6, sizes["csv"] / 1e6,
            sizes["html"] / 1e6))
        per_account = max(1, args.page_keys // args.page_accounts)
        page_report = organization.build_organization([host_report(index, per_account, rng) for index in range(
            args.page_accounts)], [], None, "2026-12-01T10:00:00Z", "summary")
        page = os.path.join(work, "organization.html")
        with open(page, "w", encoding="utf-8") as handle:
            handle.write(ORGANIZATION_RENDERERS["html"][1](page_report))
        load = chromium_load_seconds(page)
        print("\n| page | accounts | keys | size MB | chromium load s (headless, dump after the script ran) |")
        print("|---|---:|---:|---:|---:|")
        loaded = "%.1f" % load if load is not None else "no chromium"
        print("| organization.html | %d | %d | %.1f | %s |" % (
            args.page_accounts, page_report["summary"]["keys"], os.path.getsize(page) / 1e6, loaded))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
