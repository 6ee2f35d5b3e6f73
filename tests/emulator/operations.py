"""Which AWS service and operation a request to the emulator is, and for which account and Region.

KMS and Organizations name the operation in X-Amz-Target; Security Hub and Account
are REST services named by method and path; STS sends a query string.
"""

import re
from urllib.parse import parse_qs

REST_OPERATIONS = {
    ("POST", "/findings"): ("securityhub", "GetFindings"),
    ("PATCH", "/findings/batchupdate"): ("securityhub", "BatchUpdateFindings"),
    ("POST", "/findings/import"): ("securityhub", "BatchImportFindings"),
    ("POST", "/listRegions"): ("account", "ListRegions"),
}
TARGET_SERVICES = {"TrentService": "kms", "AWSOrganizationsV20161128": "organizations"}
_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d+/([^/]+)/([^/]+)/")


def credential(environ):
    """(access key ID, Region, service) from the SigV4 Authorization header, or (None, None, None)."""
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.groups() if match else (None, None, None)


def operation_of(environ, body=b""):
    """(service, operation) of a request, or (None, None) for the emulator's own endpoints."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if "." in target:
        prefix, operation = target.split(".", 1)
        return TARGET_SERVICES.get(prefix, prefix), operation
    method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
    if (method, path) in REST_OPERATIONS:
        return REST_OPERATIONS[(method, path)]
    _access_key, _region, service = credential(environ)
    if service == "sts" and body:
        action = parse_qs(body.decode(errors="replace")).get("Action")
        if action:
            return "sts", action[0]
    return service, None
