"""The emulator in a thread of the test process, one per test module, on a free loopback port; and a fresh
account of it for each test."""

import json
import threading
import urllib.request

import boto3
import botocore.config
import pytest

from kms_emulator import make_emulator

# Client-side validation off, so the server's own validation is what is tested.
NO_CLIENT_VALIDATION = botocore.config.Config(parameter_validation=False, retries={"max_attempts": 1})
# moto's backends are one per process: every module's tests take accounts from the same series.
_ACCOUNTS = iter(range(900000000001, 900000009999))


@pytest.fixture(scope="module")
def server():
    emulator = make_emulator("127.0.0.1", 0)
    thread = threading.Thread(target=emulator.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % emulator.server_port
    emulator.shutdown()


@pytest.fixture
def kms(server):
    """``kms(region)`` is a KMS client of a fresh account; ``kms.account`` its ID, ``kms.seed(key_id, ...)`` sets
    what no KMS call can (a key's age, rotation history, rotation in progress)."""
    account = str(next(_ACCOUNTS))

    def client(region="us-east-1"):
        return boto3.client("kms", endpoint_url=server, region_name=region, aws_access_key_id=account,
                            aws_secret_access_key="x", config=NO_CLIENT_VALIDATION)

    def seed(key_id, region="us-east-1", **material):
        body = dict(material, account=account, region=region, key_id=key_id)
        request = urllib.request.Request(server + "/_emulator/key-material", method="POST",
                                         data=json.dumps(body).encode())
        urllib.request.urlopen(request, timeout=10).close()

    client.account, client.seed = account, seed
    return client
