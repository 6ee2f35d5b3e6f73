"""Fixtures for integration tests: a rule-enforcing KMS emulator and real ansible-playbook runs.

Each test gets its own AWS account in the emulator (a 12-digit access key ID), so tests
never see each other's keys and can run in parallel.
"""

import itertools
import json
import os
import signal
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "harness"))

from emulator import Emulator  # noqa: E402  pylint: disable=wrong-import-position

_ACCOUNTS = itertools.count(1)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: runs long (quotas, backoff or many playbook runs); scheduled first")


def pytest_collection_modifyitems(items):
    # Long tests first, so that the lane does not end on one of them running alone; every worker sorts alike.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def emulator():
    # Small pages, so every discovery in the tests goes through pagination.
    running = Emulator.start(max_page_size=7)
    yield running
    running.stop()


@pytest.fixture
def new_account(worker_id):
    """Makes fresh 12-digit account IDs, unique across xdist workers."""
    worker = 0 if worker_id == "master" else int(worker_id.replace("gw", "")) + 1
    return lambda: "%02d%010d" % (worker + 10, next(_ACCOUNTS))


@pytest.fixture
def account(new_account):
    return new_account()


class PlaybookRun:
    def __init__(self, returncode, stdout, results):
        self.returncode = returncode
        self.stdout = stdout
        self.results = results

    def task(self, name):
        """The recorded result of the task called ``name`` (the last one if it ran twice)."""
        matches = [entry for entry in self.results if entry["task"] == name]
        assert matches, "task %r did not run; output:\n%s" % (name, self.stdout[-4000:])
        return matches[-1]


@pytest.fixture
def run_playbook(emulator, tmp_path):
    """Write ``tasks`` as a playbook on localhost and run it with ansible-playbook."""

    def run(account, tasks, check=False, diff=False, region="us-east-1", extra_env=None, extra_args=()):
        playbook = [{
            "name": "integration test",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {"ansible_python_interpreter": sys.executable},
            "tasks": tasks,
        }]
        path = tmp_path / ("playbook-%d.yml" % len(list(tmp_path.iterdir())))
        path.write_text(yaml.safe_dump(playbook, sort_keys=False))
        results_file = tmp_path / "results.jsonl"
        if results_file.exists():
            results_file.unlink()
        env = dict(os.environ)
        env.update(emulator.connection_env(account, region))
        env.update({
            "KEYGUARD_RESULTS": str(results_file),
            "ANSIBLE_CALLBACK_PLUGINS": os.path.join(HERE, "callback_plugins"),
            "ANSIBLE_CALLBACKS_ENABLED": "record_results",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_NOCOLOR": "1",
        })
        for name, value in (extra_env or {}).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        command = ["ansible-playbook", str(path)] + list(extra_args)
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
        results = []
        if results_file.exists():
            results = [json.loads(line) for line in results_file.read_text().splitlines()]
        return PlaybookRun(completed.returncode, completed.stdout + completed.stderr, results)

    return run


@pytest.fixture
def fleet(emulator, tmp_path):
    """AWS targets as inventory hosts (one per account) and runs of the collection's playbooks on them.

    Every process a test starts in the background is stopped when the test ends: its session, and any
    process whose command line names the test's own folder (ansible's workers start sessions of their own).
    """
    fleet = Fleet(emulator, tmp_path)
    yield fleet
    for process in fleet.started:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
    for pid in processes_naming(str(tmp_path)):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def processes_naming(text):
    """PIDs of the processes whose command line contains ``text``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                if text.encode() in handle.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


class Fleet:
    REGIONS = ("us-east-1", "us-west-2")

    def __init__(self, emulator, tmp_path):
        self.emulator = emulator
        self.tmp_path = tmp_path
        self.report_dir = tmp_path / "reports"
        self.hosts = {}
        self.started = []

    def add_target(self, name, account, **variables):
        self.hosts[name] = self.emulator.target_host(account, self.REGIONS, self.report_dir, **variables)

    def inventory(self):
        path = self.tmp_path / "inventory.yml"
        path.write_text(yaml.safe_dump({"all": {"children": {"kms_targets": {"hosts": self.hosts}}}}))
        return str(path)

    def command(self, playbook, check=False, diff=False, extra_vars=None, verbosity=0, extra_args=()):
        command = ["ansible-playbook", "-i", self.inventory(), "keyguard.kms." + playbook] + list(extra_args)
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        if verbosity:
            command.append("-" + "v" * verbosity)
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        return command

    @staticmethod
    def environment(extra_env=None):
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
        # Credentials and Regions come from the inventory only.
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_URL", "AWS_ENDPOINT_URL",
                     "AWS_REGION", "AWS_DEFAULT_REGION"):
            env.pop(name, None)
        env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        env.update(extra_env or {})
        return env

    def run(self, playbook, check=False, diff=False, extra_vars=None, verbosity=0, extra_env=None, extra_args=()):
        completed = subprocess.run(self.command(playbook, check, diff, extra_vars, verbosity, extra_args),
                                   env=self.environment(extra_env), capture_output=True, text=True, timeout=900,
                                   check=False)
        return completed.returncode, completed.stdout + completed.stderr

    def start(self, playbook, output_path, extra_vars=None):
        """ansible-playbook in the background, in a session of its own, its output in ``output_path``."""
        process = subprocess.Popen(self.command(playbook, extra_vars=extra_vars), env=self.environment(),
                                   stdout=open(output_path, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append(process)
        return process

    def report(self, host, suffix=".json"):
        text = (self.report_dir / (host + suffix)).read_text()
        return json.loads(text) if suffix == ".json" else text
