"""Benchmarks, measured side by side in one run and printed as ratios (never asserted in a test).

1. Cost against Ansible's floor: on one account of 40 customer keys in one Region (4 pending
   deletion, 36 to rotate), `ansible -m ping`, the floor (one playbook with one
   kms_rotation_info task), the report playbook, remediation in check mode, remediation, and
   remediation with nothing left to change; each repeated and interleaved, medians printed with
   task starts and module processes per host.
2. Peers: keyguard.kms against the AWS CLI loop and a per-key amazon.aws.kms_key loop, each tool
   on its own identically seeded copy of the dataset (an account of its own in the emulator),
   behind realistic latency and KMS's request quotas.
3. Scale: remediation and report at larger sizes, with CPU seconds per 1,000 keys.

    python benchmarks/run.py                       # the whole thing
    python benchmarks/run.py --sizes 20 --peer-sizes 1 --repeats 1 --no-latency --smoke --aws-cli none  # make test
    make bench-baseline BASELINE=<commit>          # the floor section, this role beside an older one
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(COLLECTION, "tests", "harness"))

from emulator import Emulator  # noqa: E402  pylint: disable=wrong-import-position
from seed import create_key  # noqa: E402  pylint: disable=wrong-import-position

REGIONS = ("us-east-1", "us-west-2")
PERIOD = 365
# Fixed proportions, per 20 keys of a Region (plus one AWS managed key per Region).
MIX = [("symmetric_off", 5), ("symmetric_on_365", 3), ("symmetric_on_730", 1), ("disabled_off", 1),
       ("pending_off", 2), ("pending_on_180", 1), ("asymmetric_rsa", 1), ("asymmetric_ecc", 1), ("hmac", 1),
       ("external", 1), ("cloudhsm", 1), ("mr_primary", 1), ("mr_replica", 1)]
INELIGIBLE = {"asymmetric_rsa", "asymmetric_ecc", "hmac", "external", "cloudhsm", "mr_replica", "aws_managed"}
WRITES = {"EnableKeyRotation", "DisableKeyRotation", "CancelKeyDeletion", "EnableKey", "DisableKey",
          "ScheduleKeyDeletion", "PutKeyPolicy", "TagResource", "UntagResource", "UpdateKeyDescription"}
QUOTA = {"EnableKeyRotation": 15.0, "CancelKeyDeletion": 5.0, "EnableKey": 5.0}
TOOLS = ("aws-cli-loop", "kms_key-loop", "keyguard-remediate", "keyguard-report")
# The floor section: the account of the measurements in the issue that asked for them.
FLOOR_MIX = [("pending_off", 4), ("symmetric_off", 36)]
FLOOR_RUNS = ("ping", "floor", "report", "remediate --check", "remediate", "remediate again")


def kinds_for(n):
    plan = []
    while len(plan) < n:
        for kind, count in MIX:
            plan.extend([kind] * count)
    return plan[:n] + ["aws_managed"]


def seed_jobs(emulator, account, jobs):
    clients = {region: emulator.client(account, region) for region in REGIONS}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda job: create_key(clients, job[0], job[1], job[2]), jobs))


def seed_dataset(emulator, account, n):
    return seed_jobs(emulator, account, [(region, kind, index) for region in REGIONS
                                         for index, kind in enumerate(kinds_for(n))])


def expected(kind, report):
    """(final key state, rotation ok?) a correct remediation leaves, or the verdict a report must give."""
    if report:
        if kind in INELIGIBLE:
            return "NOT_APPLICABLE"
        if kind.startswith("pending_"):
            return "NON_COMPLIANT"
        if kind in ("symmetric_on_365", "pending_on_180"):
            return "COMPLIANT"
        return "NON_COMPLIANT"
    if kind in INELIGIBLE:
        return None
    if kind == "disabled_off":
        return ("Disabled", False)
    return ("Enabled", True)


def judge(emulator, account, keys, requests, report_file=None):
    """Keys handled correctly: right final state, and no write call sent where none belongs."""
    state = dict(((k["region"], k["metadata"]["KeyId"]), k) for k in emulator.state(account))
    written = set((r["region"], (r["key_id"] or "").split(":key/")[-1]) for r in requests
                  if r["operation"] in WRITES)
    verdicts = {}
    if report_file:
        if not os.path.exists(report_file):
            return 0  # the run failed before writing its report
        with open(report_file, encoding="utf-8") as handle:
            verdicts = dict(((k["region"], k["key_id"]), k["before"]["compliance"]) for k in json.load(handle)["keys"])
    correct = 0
    for key in keys:
        where = (key["region"], key["key_id"])
        if report_file is not None:
            ok = where not in written and (key["kind"] == "aws_managed" or
                                           verdicts.get(where) == expected(key["kind"], True))
        else:
            want = expected(key["kind"], False)
            found = state[where]
            if want is None or want[0] == "Disabled":
                ok = where not in written and found["metadata"]["KeyState"] == key_state_before(key)
            else:
                ok = (found["metadata"]["KeyState"] == want[0] and found["rotation_enabled"]
                      and (found["rotation_period_days"] or 0) <= PERIOD)
        correct += bool(ok)
    return correct


def key_state_before(key):
    if key["kind"] == "external":
        return "PendingImport"
    if key["kind"] == "disabled_off":
        return "Disabled"
    return "Enabled"


def throughput(requests):
    """Writes per second against the quota, per operation and Region, while one phase sent them.

    EnableKeyRotation counts the KMS.4 phase only (keys that were not rescued), so the gap
    between the KMS.3 and KMS.4 tasks is not taken for slowness.
    """
    rescued = set(r["key_id"] for r in requests if r["operation"] == "CancelKeyDeletion")
    fractions = {}
    for operation, quota in QUOTA.items():
        for region in REGIONS:
            times = sorted(r["time"] for r in requests if r["operation"] == operation and r["region"] == region
                           and (operation != "EnableKeyRotation" or r["key_id"] not in rescued))
            if len(times) >= 10:
                rate = (len(times) - 1) / max(times[-1] - times[0], 1e-6)
                fractions["%s@%s" % (operation, region)] = rate / quota
    return fractions


def quota_time(requests, evidence_reads=True):
    """Seconds KMS's default request quotas alone require for the calls a run sent: each Region on its own (quotas
    are per account and Region), KMS.3 (CancelKeyDeletion, then EnableKey, 5/s each) strictly before KMS.4
    (EnableKeyRotation 15/s, RotateKeyOnDemand 5/s), and the evidence reads (ListKeyRotations 100/s) unless
    ``evidence_reads`` is false."""
    rescued = set(r["key_id"] for r in requests if r["operation"] == "CancelKeyDeletion")
    slowest = 0.0
    for region in REGIONS:
        calls = [r for r in requests if r["region"] == region]

        def count(operation, phase_keys=None):
            return sum(1 for r in calls if r["operation"] == operation
                       and (phase_keys is None or (r["key_id"] in rescued) == phase_keys))

        kms3 = max(count("CancelKeyDeletion") / 5.0, count("EnableKey") / 5.0, count("EnableKeyRotation", True) / 15.0)
        kms4 = max(count("EnableKeyRotation", False) / 15.0, count("RotateKeyOnDemand") / 5.0)
        # Discovery's and verification's evidence reads come before and after the writes.
        slowest = max(slowest, (count("ListKeyRotations") / 100.0 if evidence_reads else 0.0) + kms3 + kms4)
    return slowest


def phase_windows(requests):
    """Seconds of each phase of a remediation, from the emulator's clock: the AWS calls before the first write
    (discovery), KMS.3's writes, KMS.4's, and the reads after the last write (verification)."""
    if not requests:
        return {}
    rescued = set(r["key_id"] for r in requests if r["operation"] == "CancelKeyDeletion")

    def times(keep):
        return sorted(r["time"] for r in requests if keep(r))

    kms3 = times(lambda r: r["operation"] in ("CancelKeyDeletion", "EnableKey") or (
        r["operation"] == "EnableKeyRotation" and r["key_id"] in rescued))
    kms4 = times(lambda r: r["operation"] in ("EnableKeyRotation", "RotateKeyOnDemand") and r["key_id"] not in rescued)
    writes = sorted(kms3 + kms4)
    first, last = requests[0]["time"], requests[-1]["time"]
    if not writes:
        return {"calls": last - first}
    return {"discovery": writes[0] - first, "KMS.3": (kms3[-1] - kms3[0]) if kms3 else 0.0,
            "KMS.4": (kms4[-1] - kms4[0]) if kms4 else 0.0, "verify": last - writes[-1]}


class Runner:
    """Runs one command measured (wall, CPU, peak memory), with task starts and module processes counted."""

    def __init__(self, emulator, workdir):
        self.emulator = emulator
        self.workdir = workdir

    def inventory(self, account, regions):
        path = os.path.join(self.workdir, "inventory-%s.json" % account)
        host = self.emulator.target_host(account, regions, os.path.join(self.workdir, "reports-" + account),
                                         rotation_concurrency=16)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"all": {"children": {"kms_targets": {"hosts": {"bench": host}}}}}, handle)
        return path, os.path.join(self.workdir, "reports-" + account, "bench.json")

    def run(self, command, account, aws_cli=None, collections_path=None):
        env = dict(os.environ, **self.emulator.connection_env(account, REGIONS[0]))
        if collections_path:
            env["ANSIBLE_COLLECTIONS_PATH"] = collections_path
        counts = os.path.join(self.workdir, "counts-%s.json" % account)
        if os.path.exists(counts):
            os.unlink(counts)
        env.update(ANSIBLE_NOCOLOR="1", KMS4_REGIONS=" ".join(REGIONS), ANSIBLE_LOCALHOST_WARNING="false",
                   ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
                   ANSIBLE_CALLBACKS_ENABLED="task_counter", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                   KEYGUARD_TASK_COUNTS=counts)
        if aws_cli:
            env["PATH"] = os.path.dirname(os.path.abspath(aws_cli)) + os.pathsep + env["PATH"]
        measured = subprocess.run([sys.executable, os.path.join(HERE, "measure.py")] + command, env=env,
                                  capture_output=True, text=True, check=True)
        result = json.loads(measured.stdout)
        if os.path.exists(counts):
            with open(counts, encoding="utf-8") as handle:
                tally = json.load(handle)
            result["task_starts"] = tally["task_starts"]
            result["module_processes"] = max(tally["module_processes"].values() or [0])
        return result


def playbook_command(runner, tool, account, regions=REGIONS):
    inventory, report_file = runner.inventory(account, list(regions))
    if tool == "keyguard-report":
        return ["ansible-playbook", "-i", inventory, "keyguard.kms.report"], report_file
    if tool == "keyguard-remediate":
        return ["ansible-playbook", "-i", inventory, "keyguard.kms.remediate"], report_file
    if tool == "floor":
        return ["ansible-playbook", "-i", inventory, os.path.join(HERE, "floor.yml")], None
    if tool == "ping":
        return ["ansible", "-i", inventory, "kms_targets", "-m", "ansible.builtin.ping"], None
    if tool == "aws-cli-loop":
        return ["bash", os.path.join(HERE, "peers", "kms4_cli_fix.sh")], None
    return ["ansible-playbook", os.path.join(HERE, "peers", "kms_key_loop.yml"),
            "-e", json.dumps({"kms4_regions": list(REGIONS), "ansible_python_interpreter": sys.executable})], None


# --- 1. cost against the floor -------------------------------------------------

def floor_section(emulator, runner, faults, repeats, accounts, baseline_tree=None):
    """Median wall time, task starts and module processes of each run on the 40-key account.

    With ``baseline_tree`` (a collections path holding another keyguard.kms, e.g. an older commit's),
    the role's runs are also made with that one, interleaved, each on an identically seeded account.
    """
    trees = [("", None)] + ([(" (baseline)", baseline_tree)] if baseline_tree else [])
    names = [name + label for name in FLOOR_RUNS for label, tree in trees if tree is None or name not in ("ping", "floor")]
    samples = dict((name, []) for name in names)
    for _repeat in range(repeats):
        seeded = {}
        for label, _tree in trees:
            seeded[label] = str(next(accounts))
            seed_jobs(emulator, seeded[label], [("us-east-1", kind, index) for kind, count in FLOOR_MIX
                                                for index in range(count)])
            if faults:
                emulator.set_faults(seeded[label], **faults)
        for name in FLOOR_RUNS:
            tool = {"ping": "ping", "floor": "floor", "report": "keyguard-report"}.get(name, "keyguard-remediate")
            for label, tree in trees:
                if name + label not in samples:
                    continue
                command, _report = playbook_command(runner, tool, seeded[label], ["us-east-1"])
                if name.endswith("--check"):
                    command.append("--check")
                samples[name + label].append(runner.run(command, seeded[label], collections_path=tree))
        for account in seeded.values():
            emulator.clear_faults(account)
    rows = []
    floor = statistics.median(sample["wall_s"] for sample in samples["floor"])
    for name in names:
        wall = statistics.median(sample["wall_s"] for sample in samples[name])
        last = samples[name][-1]
        rows.append({"run": name, "wall_s": wall, "ratio_to_floor": wall / floor,
                     "task_starts": last.get("task_starts"), "module_processes": last.get("module_processes"),
                     "returncode": last["returncode"]})
    return rows


def print_floor(rows, repeats):
    print("\n## Cost against Ansible's floor (40 keys, one Region; median of %d)\n" % repeats)
    print("| run | wall s | x floor | task starts | module processes per host |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print("| %s | %.1f | %.2f | %s | %s |" % (
            row["run"], row["wall_s"], row["ratio_to_floor"], row["task_starts"], row["module_processes"]))


# --- 2 and 3. peers and scale --------------------------------------------------

def tool_section(emulator, runner, faults, sizes, peer_sizes, aws_cli, accounts):
    rows = []
    for n in sorted(set(sizes) | set(peer_sizes)):
        tools = [t for t in TOOLS if ((t.startswith("keyguard") and n in sizes) or
                                      (not t.startswith("keyguard") and n in peer_sizes))
                 and not (t == "aws-cli-loop" and aws_cli == "none")]
        for tool in tools:
            account = str(next(accounts))
            keys = seed_dataset(emulator, account, n)
            if faults:
                emulator.set_faults(account, **faults)
            before = len(emulator.recorded_requests(account))
            command, report_file = playbook_command(runner, tool, account)
            emulator_cpu = emulator.cpu_s()
            result = runner.run(command, account, aws_cli if tool == "aws-cli-loop" else None)
            emulator_cpu = emulator.cpu_s() - emulator_cpu
            emulator.clear_faults(account)
            requests = emulator.recorded_requests(account)[before:]
            correct = judge(emulator, account, keys, requests, report_file if tool == "keyguard-report" else None)
            row = {"tool": tool, "n_per_region": n, "keys": len(keys), "wall_s": result["wall_s"],
                   "cpu_s": result["cpu_s"], "cpu_s_per_1000_keys": result["cpu_s"] * 1000.0 / len(keys),
                   "peak_rss_mb": result["peak_rss_mb"], "calls_per_key": len(requests) / len(keys),
                   "correct": correct, "returncode": result["returncode"],
                   "task_starts": result.get("task_starts"), "module_processes": result.get("module_processes"),
                   "throughput_vs_quota": throughput(requests) if tool == "keyguard-remediate" else {},
                   "quota_s": quota_time(requests), "write_quota_s": quota_time(requests, evidence_reads=False),
                   "phases_s": phase_windows(requests), "emulator_cpu_s": emulator_cpu}
            rows.append(row)
            print("%-19s N=%-5d %5d keys %8.1f s wall %7.1f s cpu %6.1f s quota %6.0f MB %5.1f calls/key %5d/%d "
                  "correct" % (tool, n, len(keys), row["wall_s"], row["cpu_s"], row["quota_s"], row["peak_rss_mb"],
                               row["calls_per_key"], correct, len(keys)), flush=True)
            print("    quota time %.1f s: writes %.1f s, evidence reads (ListKeyRotations) %.1f s; emulator CPU %.1f s "
                  "(one process, %.1f ms a call)" % (row["quota_s"], row["write_quota_s"],
                                                     row["quota_s"] - row["write_quota_s"], emulator_cpu,
                                                     emulator_cpu * 1000.0 / max(len(requests), 1)))
            if tool == "keyguard-remediate":
                print("    AWS calls by phase: %s" % ", ".join("%s %.1f s" % item for item in row["phases_s"].items()))
    return rows


def summarize(rows):
    summary = {}
    for n in sorted(set(r["n_per_region"] for r in rows)):
        at = dict((r["tool"], r) for r in rows if r["n_per_region"] == n)
        if "keyguard-remediate" in at:
            ours = at["keyguard-remediate"]["wall_s"]
            summary[n] = dict(("speedup_vs_" + peer, at[peer]["wall_s"] / ours) for peer in TOOLS[:2] if peer in at)
    return summary


def print_tools(rows, summary):
    print("\n## Side by side (two Regions)\n")
    print("| tool | N/Region | keys | wall s | quota s | wall / quota | CPU s | CPU s / 1000 keys | peak MB | calls/key "
          "| tasks | module processes | correct |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| %s | %d | %d | %.1f | %.1f | %s | %.1f | %.1f | %.0f | %.1f | %s | %s | %d/%d |" % (
            r["tool"], r["n_per_region"], r["keys"], r["wall_s"], r["quota_s"],
            "%.2f" % (r["wall_s"] / r["quota_s"]) if r["quota_s"] else "-", r["cpu_s"], r["cpu_s_per_1000_keys"],
            r["peak_rss_mb"], r["calls_per_key"], r["task_starts"] if r["tool"].startswith("keyguard") else "-",
            r["module_processes"] if r["tool"].startswith("keyguard") else "-", r["correct"], r["keys"]))
    for n, ratios in summary.items():
        for name, value in ratios.items():
            print("N=%d: keyguard.kms.remediate is %.1fx faster (%s)" % (n, value, name.replace("speedup_vs_", "than ")))
    for r in rows:
        for name, value in sorted(r["throughput_vs_quota"].items()):
            print("N=%d: %s ran at %.0f%% of its quota" % (r["n_per_region"], name, value * 100))


def plot(rows, path):
    try:
        import matplotlib  # pylint: disable=import-outside-toplevel
        matplotlib.use("Agg")
        from matplotlib import pyplot  # pylint: disable=import-outside-toplevel
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    for tool in TOOLS:
        points = sorted((r["keys"], r["wall_s"]) for r in rows if r["tool"] == tool)
        if points:
            axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=tool)
    axes.set_xlabel("keys (two Regions)")
    axes.set_ylabel("wall time, s")
    axes.set_yscale("log")
    axes.set_title("KMS.4 remediation and reporting against the KMS emulator")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,500,1000", help="keys per Region for keyguard")
    parser.add_argument("--peer-sizes", default="100", help="keys per Region for the peers (seconds per key)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the floor section (medians)")
    parser.add_argument("--latency", default="0.02,0.04", help="added per-call latency range, seconds")
    parser.add_argument("--no-latency", action="store_true", help="no latency and no quota enforcement")
    parser.add_argument("--output", default=os.path.join(os.getcwd(), "benchmark-results"))
    parser.add_argument("--aws-cli", default=shutil.which("aws") or "aws",
                        help="the aws command for peer (a); none leaves peer (a) out")
    parser.add_argument("--baseline-tree", help="a collections path with another keyguard.kms (make bench-baseline): "
                        "the floor section runs its role runs with it too, side by side")
    parser.add_argument("--smoke", action="store_true", help="fail unless every run worked and every tool handled "
                        "every key as expected (the peers' known mistakes excepted)")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",") if n]
    peer_sizes = [int(n) for n in args.peer_sizes.split(",") if n]
    faults = {} if args.no_latency else {"latency": [float(x) for x in args.latency.split(",")], "quotas": True}
    os.makedirs(args.output, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="keyguard-bench-")
    emulator = Emulator.start()
    accounts = iter(range(600000000001, 600000009999))
    try:
        runner = Runner(emulator, workdir)
        floor_rows = floor_section(emulator, runner, faults, args.repeats, accounts,
                                   args.baseline_tree) if args.repeats else []
        rows = tool_section(emulator, runner, faults, sizes, peer_sizes, args.aws_cli, accounts)
    finally:
        emulator.stop()
    summary = summarize(rows)
    with open(os.path.join(args.output, "results.json"), "w", encoding="utf-8") as handle:
        json.dump({"faults": faults, "floor": floor_rows, "rows": rows, "summary": summary}, handle, indent=2)
    if rows:
        plot(rows, os.path.join(args.output, "time_vs_n.png"))
    if floor_rows:
        print_floor(floor_rows, args.repeats)
    if rows:
        print_tools(rows, summary)
    if args.smoke:
        wrong = [r for r in rows if r["tool"].startswith("keyguard") and (r["correct"] != r["keys"] or r["returncode"])]
        wrong += [r for r in floor_rows if r["returncode"]]
        wanted_tools = [t for t in TOOLS if not (t == "aws-cli-loop" and args.aws_cli == "none")]
        peers_ran = all(any(r["tool"] == t for r in rows) for t in wanted_tools)
        print("smoke: %d passed, %d failed" % (len(rows) + len(floor_rows) - len(wrong), len(wrong)))
        return 1 if wrong or not peers_ran else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
