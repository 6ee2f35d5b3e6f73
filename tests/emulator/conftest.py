"""The emulator in a thread of the test process, one per test module, on a free loopback port."""

import threading

import pytest

from kms_emulator import make_emulator


@pytest.fixture(scope="module")
def server():
    emulator = make_emulator("127.0.0.1", 0)
    thread = threading.Thread(target=emulator.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % emulator.server_port
    emulator.shutdown()
