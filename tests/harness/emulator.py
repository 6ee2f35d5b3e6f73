"""Start the rule-enforcing KMS emulator as a process on loopback and talk to it."""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR_SCRIPT = os.path.join(os.path.dirname(HERE), "emulator", "kms_emulator.py")
SECRET_KEY = "emulator-secret"


class Emulator:
    """A running emulator; accounts are chosen by a 12-digit access key ID."""

    def __init__(self, process, port):
        self.process = process
        self.port = port
        self.url = "http://127.0.0.1:%d" % port

    @classmethod
    def start(cls, timeout=30, max_page_size=1000, python=None):
        port_file = tempfile.NamedTemporaryFile(prefix="kms-emulator-", suffix=".port", delete=False)
        port_file.close()
        os.unlink(port_file.name)
        process = subprocess.Popen(
            [python or sys.executable, EMULATOR_SCRIPT, "--port", "0", "--port-file", port_file.name,
             "--max-page-size", str(max_page_size)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("the KMS emulator exited with code %s" % process.returncode)
            if os.path.exists(port_file.name) and open(port_file.name).read().strip():
                emulator = cls(process, int(open(port_file.name).read()))
                os.unlink(port_file.name)
                try:
                    emulator.recorded_requests()
                    return emulator
                except OSError:
                    pass
            time.sleep(0.1)
        process.kill()
        raise RuntimeError("the KMS emulator did not start within %s s" % timeout)

    def cpu_s(self):
        """CPU seconds the emulator's process has used so far (Linux /proc): its share of a benchmark's cores."""
        try:
            with open("/proc/%d/stat" % self.process.pid, encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))
        except (OSError, ValueError, IndexError):
            return float("nan")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def _get(self, path, method="GET", payload=None):
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.url + path, method=method, data=data)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def set_faults(self, account, **config):
        """Inject faults into this account's KMS calls (see tests/emulator/faults.py)."""
        self._get("/_emulator/faults", "POST", dict(config, account=account))

    def set_key_material(self, account, region, key_id, **material):
        """Age a key, give it a rotation history, or a rotation in progress (see set_key_material in the emulator)."""
        self._get("/_emulator/key-material", "POST", dict(material, account=account, region=region, key_id=key_id))

    def clear_faults(self, account):
        self._get("/_emulator/faults?account=%s" % account, "DELETE")

    def faults_injected(self, account):
        return self._get("/_emulator/faults").get(account, {})

    def state(self, account=None):
        return self._get("/_emulator/state" + ("?account=%s" % account if account else ""))

    def recorded_requests(self, account=None):
        return self._get("/_emulator/requests" + ("?account=%s" % account if account else ""))

    def client(self, account, region="us-east-1"):
        return self.boto3_client("kms", account, region)

    def boto3_client(self, service, account, region="us-east-1"):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=account,
            aws_secret_access_key=SECRET_KEY,
        )

    def target_host(self, account, regions, report_dir, **variables):
        """Inventory variables of one AWS target (an emulator account) for the rotation role."""
        host = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "rotation_aws_access_key": account,
            "rotation_aws_secret_key": SECRET_KEY,
            "rotation_aws_endpoint_url": self.url,
            "rotation_regions": list(regions),
            "rotation_report_dir": str(report_dir),
        }
        host.update(variables)
        return host

    def connection_env(self, account, region="us-east-1"):
        """Environment for ansible-playbook runs: amazon.aws modules and botocore both honour it."""
        return {
            "AWS_ACCESS_KEY_ID": account,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_URL": self.url,
            "AWS_ENDPOINT_URL": self.url,
        }
