"""Fixtures for integration tests: a rule-enforcing KMS emulator and real ansible-playbook runs.

Each test gets its own AWS account in the emulator (a 12-digit access key ID), so tests
never see each other's keys and can run in parallel.
"""

import itertools
import json
import os
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "harness"))

from emulator import Emulator  # noqa: E402  pylint: disable=wrong-import-position

_ACCOUNTS = itertools.count(1)


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
    """AWS targets as inventory hosts (one per account) and runs of the collection's playbooks on them."""
    return Fleet(emulator, tmp_path)


class Fleet:
    REGIONS = ("us-east-1", "us-west-2")

    def __init__(self, emulator, tmp_path):
        self.emulator = emulator
        self.tmp_path = tmp_path
        self.report_dir = tmp_path / "reports"
        self.hosts = {}

    def add_target(self, name, account, **variables):
        self.hosts[name] = self.emulator.target_host(account, self.REGIONS, self.report_dir, **variables)

    def inventory(self):
        path = self.tmp_path / "inventory.yml"
        path.write_text(yaml.safe_dump({"all": {"children": {"kms_targets": {"hosts": self.hosts}}}}))
        return str(path)

    def run(self, playbook, check=False, diff=False, extra_vars=None, verbosity=0):
        command = ["ansible-playbook", "-i", self.inventory(), "keyguard.kms." + playbook]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        if verbosity:
            command.append("-" + "v" * verbosity)
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
        # Credentials come from the inventory only.
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_URL", "AWS_ENDPOINT_URL"):
            env.pop(name, None)
        completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
        return completed.returncode, completed.stdout + completed.stderr

    def report(self, host, suffix=".json"):
        text = (self.report_dir / (host + suffix)).read_text()
        return json.loads(text) if suffix == ".json" else text
