"""The Organization page as a person sees it: a real browser, no network, a screenshot, and the numbers."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "harness"))

from seed import seed  # noqa: E402  pylint: disable=wrong-import-position

# Everything that is not the file itself goes nowhere.
NO_NETWORK = ["--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium, installed with apt when it is missing (never a browser download of its own)."""
    found = shutil.which("chromium")
    if not found and shutil.which("apt-get") and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600, check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"], env=env,
                       capture_output=True, timeout=900, check=False)
        found = shutil.which("chromium")
    assert found, "Debian's chromium package is needed to look at the Organization page: apt-get install chromium"
    return found


def browse(chromium, page, *args):
    command = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600"] + NO_NETWORK + \
        list(args) + ["file://%s" % page]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def test_the_organization_page_shows_what_the_json_says(emulator, fleet, new_account, chromium, tmp_path):
    layout = {"payments": "Root/Workloads/Prod", "orders": "Root/Workloads/Prod", "sandbox": "Root/Sandbox"}
    for name, ou_path in layout.items():
        account = new_account()
        seed({"us-east-1": emulator.client(account)}, "us-east-1",
             kinds=["symmetric_off", "symmetric_on_180", "disabled_off"] if name != "sandbox" else ["symmetric_on_180"])
        fleet.add_target(name, account, rotation_regions=["us-east-1"], aws_account_name=name,
                         aws_account_ou_path=ou_path)
    code, output = fleet.run("report")
    assert code == 0, output[-3000:]
    page = fleet.report_dir / "organization.html"
    overview = json.loads((fleet.report_dir / "organization.json").read_text())
    summary = overview["summary"]

    shot = tmp_path / "organization.png"
    browse(chromium, str(page), "--screenshot=%s" % shot)
    with open(shot, "rb") as handle:
        png = handle.read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000, "a screenshot with something on it"

    dom = browse(chromium, str(page), "--dump-dom", "--virtual-time-budget=3000")
    assert "%s." % summary["line"] in dom
    assert '<b>%d / %d</b>accounts compliant' % (summary["accounts_compliant"], summary["accounts"]) in dom
    assert '<b>%s %%</b>key compliance' % summary["compliance_percent"] in dom
    # The charts: one bar row per OU and per account, each with the percentage of the JSON.
    for group in overview["by_ou"]:
        assert 'data-percent="%s"' % ("" if group["compliance_percent"] is None else group["compliance_percent"]) in dom
    assert dom.count('<svg id="chart-') == 2
    assert len(re.findall(r'<text x="0" y="\d+" class="label">', dom)) == len(overview["by_ou"]) + len(
        overview["by_account"])
    # The table of every key, filled by the page's own script.
    assert "%d of %d keys" % (summary["keys"], summary["keys"]) in dom
    table = dom.split('<table id="keys">')[1].split("</table>")[0]
    assert table.count("<tr>") == summary["keys"] + 1
    assert table.count(">NON_COMPLIANT<") == summary["NON_COMPLIANT"]
