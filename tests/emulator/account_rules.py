"""The AWS Account API's Region opt-in operations, which moto 5.2 does not serve.

ListRegions (POST /listRegions): every Region of the partition with its
RegionOptStatus, MaxResults 1-50, NextToken, RegionOptStatusContains, and AccountId
to ask about a member account. EnableRegion / DisableRegion change an opt-in
Region's status (at once; AWS passes through ENABLING / DISABLING). Regions that
need opting in start DISABLED, the others are ENABLED_BY_DEFAULT, as on AWS.
"""

import functools
import json
import threading

from moto.account import urls as account_urls
from moto.account.responses import AccountResponse
from moto.core.exceptions import JsonRESTError

DEFAULT_REGIONS = (
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
    "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
)
OPT_IN_REGIONS = (
    "af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ca-west-1", "eu-central-2",
    "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1",
)
STATUSES = ("ENABLED", "ENABLING", "DISABLING", "DISABLED", "ENABLED_BY_DEFAULT")
_OPTED = {}  # (account, region) -> status
_LOCK = threading.Lock()


class ValidationException(JsonRESTError):
    code = 400

    def __init__(self, message):
        super().__init__("ValidationException", message)


def region_status(account, region):
    if region in DEFAULT_REGIONS:
        return "ENABLED_BY_DEFAULT"
    with _LOCK:
        return _OPTED.get((account, region), "DISABLED")


def _params(response):
    return json.loads(response.body) if response.body else {}


def _list_regions(self):
    params = _params(self)
    account = params.get("AccountId") or self.current_account
    limit = int(params.get("MaxResults") or 20)
    if not 1 <= limit <= 50:
        raise ValidationException("MaxResults must be between 1 and 50")
    wanted = params.get("RegionOptStatusContains")
    if wanted and not set(wanted) <= set(STATUSES):
        raise ValidationException("RegionOptStatusContains must hold values of %s" % ", ".join(STATUSES))
    regions = [{"RegionName": name, "RegionOptStatus": region_status(account, name)}
               for name in sorted(DEFAULT_REGIONS + OPT_IN_REGIONS)]
    if wanted:
        regions = [region for region in regions if region["RegionOptStatus"] in wanted]
    start = int(params.get("NextToken") or 0)
    page = regions[start:start + limit]
    answer = {"Regions": page}
    if start + limit < len(regions):
        answer["NextToken"] = str(start + limit)
    return json.dumps(answer)


def _opt(self, status):
    params = _params(self)
    account = params.get("AccountId") or self.current_account
    region = params.get("RegionName")
    if region not in OPT_IN_REGIONS:
        raise ValidationException("%s is not an opt-in Region" % region)
    with _LOCK:
        _OPTED[(account, region)] = status
    return "{}"


def _enable_region(self):
    return _opt(self, "ENABLED")


def _disable_region(self):
    return _opt(self, "DISABLED")


@functools.cache  # moto is patched once per process
def apply_account_rules():
    AccountResponse.list_regions = _list_regions
    AccountResponse.enable_region = _enable_region
    AccountResponse.disable_region = _disable_region
    for path in ("listRegions", "enableRegion", "disableRegion"):
        account_urls.url_paths["{0}/%s$" % path] = AccountResponse.dispatch
