"""An AWS Organization at scale, run the way AWX runs it: measured, never asserted in a test.

Seeds in the emulator an Organization of ACCOUNTS member accounts x 2 Regions x 10 keys (every kind in
the usual proportions), twice (one for the whole run, one for the sliced one), builds the inventory with
the keyguard.kms.aws_accounts plugin (assumed roles into each member), and runs through ansible-runner
with forks 10: the report and the remediation, once whole and once as three slices at the same time
(--limit per slice, as AWX job slicing does). Prints wall time, peak memory of the controller (all
processes of the runs together), keys per second and the cost per account, and checks every key of
every account ended correct and every host's set_stats survived AWX's shallow merge of the slices.

Side by side in the same run: Ansible's floor (the same hosts, forks and inventory, one
keyguard.kms.kms_rotation_info task per host) and Cloud Custodian's c7n-org on an identical Organization
of its own (the kms-key resource, key-rotation-status filter for the report, set-rotation for the
remediation; c7n and c7n-org from PyPI in .venv-c7n), each with wall time, CPU seconds per account, peak
memory and keys correct after it.

    python benchmarks/org.py                 # 200 accounts (make bench-org)
    python benchmarks/org.py --accounts 20   # a quick look
    python benchmarks/org.py --no-sliced --c7n .venv-c7n/bin/c7n-org
"""

import argparse
import concurrent.futures
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(COLLECTION, "tests", "harness"))

from emulator import SECRET_KEY, Emulator  # noqa: E402  pylint: disable=wrong-import-position
from organization import ROLE_NAME, build_organization  # noqa: E402  pylint: disable=wrong-import-position
from seed import create_key  # noqa: E402  pylint: disable=wrong-import-position

REGIONS = ("us-east-1", "us-west-2")
# Ten keys a Region, in the proportions of the other benchmarks.
KINDS = ["symmetric_off", "symmetric_off", "symmetric_on_365", "symmetric_on_730", "disabled_off", "pending_off",
         "asymmetric_rsa", "hmac", "external", "mr_primary"]
SLICES = 3
FORKS = 10
# Ansible's floor: one module task per host, the same connection and role as the role's own tasks.
FLOOR_PLAY = [{"name": "floor", "hosts": "kms_targets", "connection": "local", "gather_facts": False, "tasks": [{
    "name": "floor | one kms_rotation_info task", "keyguard.kms.kms_rotation_info": {
        "regions": "{{ rotation_regions }}", "access_key": "{{ rotation_aws_access_key }}",
        "secret_key": "{{ rotation_aws_secret_key }}", "endpoint_url": "{{ rotation_aws_endpoint_url }}",
        "assume_role_arn": "{{ rotation_assume_role_arn }}"}}]}]
C7N_POLICY = {"name": "kms-key-rotation", "resource": "aws.kms-key",
              "filters": [{"type": "key-rotation-status", "key": "KeyRotationEnabled", "value": False}]}


def seed_organization(emulator, management, accounts):
    layout = {"Workloads/Prod": [], "Workloads/Dev": [], "Sandbox": []}
    for number in range(accounts):
        layout[sorted(layout)[number % 3]].append("acct-%04d" % number)
    members, _units = build_organization(emulator, management, layout)
    jobs = [(member["id"], region, kind, index) for member in members.values() for region in REGIONS
            for index, kind in enumerate(KINDS)]

    def make(job):
        account, region, kind, index = job
        clients = {name: emulator.client(account, name) for name in REGIONS}
        return dict(create_key(clients, region, kind, index), account=account)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        keys = list(pool.map(make, jobs))
    return members, keys


def private_data_dir(root, emulator, management, members, report_dir):
    inventory = {
        "plugin": "keyguard.kms.aws_accounts", "access_key": management, "secret_key": SECRET_KEY,
        "endpoint_url": emulator.url, "region": "us-east-1", "assume_role_name": ROLE_NAME,
        "regions": list(REGIONS), "exclude_accounts": [management], "hostname": "account_name",
        "groups": {"kms_targets": "true"},
        "compose": {"rotation_aws_access_key": repr(management), "rotation_aws_secret_key": repr(SECRET_KEY),
                    "rotation_aws_endpoint_url": repr(emulator.url), "rotation_report_dir": repr(report_dir),
                    "ansible_python_interpreter": repr(sys.executable)},
    }
    os.makedirs(os.path.join(root, "inventory"))
    os.makedirs(os.path.join(root, "project"))
    os.makedirs(os.path.join(root, "env"))
    with open(os.path.join(root, "inventory", "org.aws_accounts.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle)
    for name in ("report", "remediate"):
        with open(os.path.join(root, "project", name + ".yml"), "w", encoding="utf-8") as handle:
            handle.write("- name: %s\n  ansible.builtin.import_playbook: keyguard.kms.%s\n" % (name, name))
    with open(os.path.join(root, "project", "floor.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(FLOOR_PLAY, handle, sort_keys=False)
    with open(os.path.join(root, "env", "envvars"), "w", encoding="utf-8") as handle:
        yaml.safe_dump({"ANSIBLE_INVENTORY_ENABLED": "keyguard.kms.aws_accounts",
                        "ANSIBLE_COLLECTIONS_PATH": os.environ.get("ANSIBLE_COLLECTIONS_PATH", "")}, handle)
    return root


def runner(root, playbook, ident, limit=None):
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-runner"), "run", root, "-p", playbook,
               "--ident", ident, "--forks", str(FORKS)]
    if limit:
        command += ["--limit", ",".join(limit)]
    # ansible-runner finds ansible-playbook on PATH: this venv's.
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def artifacts(root, ident):
    events = os.path.join(root, "artifacts", ident, "job_events")
    for name in os.listdir(events):
        with open(os.path.join(events, name), encoding="utf-8") as handle:
            event = json.load(handle)
        if event.get("event") == "playbook_on_stats":
            return event["event_data"].get("artifact_data") or {}
    return {}


def task_times(root, ident):
    """[(task name, wall s)] of a run, from its job events: each task until the next one (or the play's end) started."""
    events = os.path.join(root, "artifacts", ident, "job_events")
    starts = []
    for name in os.listdir(events):
        with open(os.path.join(events, name), encoding="utf-8") as handle:
            event = json.load(handle)
        if event.get("event") in ("playbook_on_task_start", "playbook_on_stats"):
            stamp = time.mktime(time.strptime(event["created"][:19], "%Y-%m-%dT%H:%M:%S")) + float(
                "0" + event["created"][19:26].rstrip("Z"))
            starts.append((stamp, event["event_data"].get("task", "end")))
    starts.sort()
    return [(name, later[0] - stamp) for (stamp, name), later in zip(starts, starts[1:])]


def descendants_rss_mb(pids):
    """Memory of the given processes and all their descendants, in MB (Linux /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry, encoding="utf-8") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    total, pending = 0, list(pids)
    while pending:
        pid = pending.pop()
        pending.extend(children.get(pid, []))
        try:
            # Proportional set size: pages shared by ansible's forked workers are counted once overall.
            with open("/proc/%d/smaps_rollup" % pid, encoding="utf-8") as handle:
                total += sum(int(line.split()[1]) for line in handle if line.startswith("Pss:"))
        except (OSError, ValueError, IndexError):
            continue
    return total / 1024.0


def children_cpu_s():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def watched(processes):
    """(return codes, wall s, CPU s of the processes and every child they waited for, peak memory MB)."""
    started, cpu = time.monotonic(), children_cpu_s()
    peak = 0.0
    while any(process.poll() is None for process in processes):
        peak = max(peak, descendants_rss_mb([process.pid for process in processes]))
        time.sleep(0.5)
    codes = [process.wait() for process in processes]
    return codes, time.monotonic() - started, children_cpu_s() - cpu, peak


def measured(root, playbook, ident, hosts, sliced):
    """Run whole or as SLICES concurrent slices; returns wall time, CPU time and peak memory of the controller
    (every process of the runs together) and AWX's merge of the stats."""
    limits = [sorted(hosts)[number::SLICES] for number in range(SLICES)] if sliced else [None]
    processes = [runner(root, playbook, "%s-%d" % (ident, number), limit) for number, limit in enumerate(limits)]
    codes, wall, cpu, peak = watched(processes)
    merged = {}
    for number in range(len(limits)):
        merged.update(artifacts(root, "%s-%d" % (ident, number)))
    slowest = sorted(task_times(root, "%s-0" % ident), key=lambda entry: -entry[1])[:5]
    return {"wall_s": wall, "cpu_s": cpu, "returncodes": codes, "merged_stats": len(merged), "peak_rss_mb": peak,
            "slowest_tasks": [{"task": name, "wall_s": round(seconds, 1)} for name, seconds in slowest]}


def c7n_org(c7n, emulator, management, members, work, remediate):
    """c7n-org over the same Organization's member roles, its default workers; the report is --dryrun."""
    config = os.path.join(work, "c7n-accounts.yml")
    with open(config, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"accounts": [{"account_id": member["id"], "name": name, "regions": list(REGIONS),
                                      "role": "arn:aws:iam::%s:role/%s" % (member["id"], ROLE_NAME)}
                                     for name, member in sorted(members.items())]}, handle)
    policy = dict(C7N_POLICY, actions=[{"type": "set-rotation", "state": True}]) if remediate else C7N_POLICY
    policies = os.path.join(work, "c7n-policy.yml")
    with open(policies, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"policies": [policy]}, handle)
    command = [c7n, "run", "-c", config, "-u", policies, "-s", os.path.join(work, "c7n-output")]
    if not remediate:
        command.append("--dryrun")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=management, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
               AWS_ENDPOINT_URL=emulator.url, AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
               AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    # c7n logs every account on stderr: to a file, as a pipe nobody reads fills and stops it.
    with open(os.path.join(work, "c7n-%s.log" % ("remediate" if remediate else "report")), "w",
              encoding="utf-8") as log:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        codes, wall, cpu, peak = watched([process])
    return {"wall_s": wall, "cpu_s": cpu, "returncodes": codes, "merged_stats": 0, "peak_rss_mb": peak}


def on_emulator(emulator, run, *args):
    """``run``'s result, with the CPU seconds the emulator spent answering it (a share of the same 2 cores)."""
    before = emulator.cpu_s()
    result = run(*args)
    result["emulator_cpu_s"] = emulator.cpu_s() - before
    return result


def correct_keys(emulator, keys):
    """Keys in the state a correct remediation leaves (rotating, or left alone when they must be)."""
    state = dict(((k["account"], k["region"], k["metadata"]["KeyId"]), k) for k in emulator.state())
    good = 0
    for key in keys:
        found = state[(key["account"], key["region"], key["key_id"])]
        if key["kind"] in ("asymmetric_rsa", "hmac", "external"):
            good += found["rotation_enabled"] in (False, None)
        elif key["kind"] == "disabled_off":
            good += found["metadata"]["KeyState"] == "Disabled"
        else:
            good += found["metadata"]["KeyState"] == "Enabled" and bool(found["rotation_enabled"]) and (
                found["rotation_period_days"] or 0) <= 365
    return good


def row(result, run, mode, members, keys, emulator=None, tool="keyguard"):
    result.update(tool=tool, run=run, mode=mode, accounts=len(members), keys=len(keys),
                  keys_per_s=len(keys) / result["wall_s"], s_per_account=result["wall_s"] / len(members),
                  cpu_per_account=result["cpu_s"] / len(members))
    if emulator is not None:
        result["correct"] = correct_keys(emulator, keys)
    print("%-8s %-9s %-6s %4d accounts %5d keys %7.1f s %6.1f CPU s/account %6.0f MB %6.1f emulator CPU s%s" % (
        tool, run, mode, len(members), len(keys), result["wall_s"], result["cpu_per_account"], result["peak_rss_mb"],
        result["emulator_cpu_s"],
        "  %d/%d keys correct" % (result["correct"], len(keys)) if "correct" in result else ""), flush=True)
    for entry in result.get("slowest_tasks") or []:
        print("    %6.1f s  %s" % (entry["wall_s"], entry["task"]), flush=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--output", default=os.path.join(os.getcwd(), "benchmark-results"))
    parser.add_argument("--no-sliced", action="store_true", help="skip the three concurrent slices")
    parser.add_argument("--c7n", help="c7n-org to compare with (make bench-org installs it in .venv-c7n)")
    parser.add_argument("--tools", default="floor,keyguard,c7n",
                        help="which of floor, keyguard, c7n to run (the table's ratios need the floor)")
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)
    work = tempfile.mkdtemp(prefix="keyguard-org-")
    emulator = Emulator.start()
    rows = []
    try:
        orgs = {}
        tools = args.tools.split(",")
        names = ([("whole", "300000000001")] if set(tools) & {"floor", "keyguard"} else []) + (
            [("sliced", "300000000002")] if "keyguard" in tools and not args.no_sliced else []) + (
            [("c7n", "300000000003")] if args.c7n and "c7n" in tools else [])
        for name, management in names:
            started = time.monotonic()
            members, keys = seed_organization(emulator, management, args.accounts)
            print("seeded %s: %d accounts, %d keys in %.0f s" % (
                name, len(members), len(keys), time.monotonic() - started), flush=True)
            root = private_data_dir(os.path.join(work, name), emulator, management, members,
                                    os.path.join(work, name + "-reports"))
            orgs[name] = (root, members, keys, management)
        if "floor" in tools:
            root, members, keys, _management = orgs["whole"]
            rows.append(row(on_emulator(emulator, measured, root, "floor.yml", "floor", list(members), False),
                            "floor", "whole", members, keys, tool="floor"))
        for mode in [name for name in ("whole", "sliced") if name in orgs and "keyguard" in tools]:
            root, members, keys, _management = orgs[mode]
            # Whole, the remediation runs again with nothing left to change: what a scheduled job pays most days.
            runs = ["report", "remediate"] + (["remediate again"] if mode == "whole" else [])
            for run in runs:
                playbook = run.split()[0]
                result = on_emulator(emulator, measured, root, playbook + ".yml", run.replace(" ", "-"), list(members),
                                     mode == "sliced")
                rows.append(row(result, run, mode, members, keys, emulator if playbook == "remediate" else None))
        if "c7n" in orgs:
            root, members, keys, management = orgs["c7n"]
            for run in ("report", "remediate"):
                result = on_emulator(emulator, c7n_org, args.c7n, emulator, management, members, root,
                                     run == "remediate")
                rows.append(row(result, run, "whole", members, keys, emulator if run == "remediate" else None,
                                tool="c7n-org"))
    finally:
        emulator.stop()
    with open(os.path.join(args.output, "org.json"), "w", encoding="utf-8") as handle:
        json.dump(rows, handle, indent=2)
    floor = next((entry["wall_s"] for entry in rows if entry["tool"] == "floor"), float("nan"))
    print("\n| tool | run | mode | accounts | keys | wall s | x floor | CPU s per account | emulator CPU s | peak MB "
          "| s per account (forks %d) | stats kept | keys correct | rc |" % FORKS)
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for entry in rows:
        print("| %s | %s | %s | %d | %d | %.1f | %.2f | %.2f | %.0f | %.0f | %.2f | %s | %s | %s |" % (
            entry["tool"], entry["run"], entry["mode"], entry["accounts"], entry["keys"], entry["wall_s"],
            entry["wall_s"] / floor, entry["cpu_per_account"], entry["emulator_cpu_s"], entry["peak_rss_mb"],
            entry["s_per_account"],
            "%d/%d" % (entry["merged_stats"], entry["accounts"]) if entry["tool"] == "keyguard" else "-",
            "%d/%d" % (entry["correct"], entry["keys"]) if "correct" in entry else "-",
            ",".join(str(code) for code in entry["returncodes"])))
    failed = [entry for entry in rows if any(entry["returncodes"]) and entry["run"] == "report"
              and entry["tool"] == "keyguard"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
