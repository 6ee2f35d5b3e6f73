"""IAM as the member-role templates need it, where moto 5.2 falls short.

* An inline role policy from a CloudFormation template is stored as a dict, which moto's own IAM
  enforcement then cannot read (HTTP 500): it is stored as JSON, as IAM stores it.
* AssumeRole ignores the role's trust policy. Here, for a role that exists, the trust policy decides, as IAM
  does for the parts the templates use: an Allow statement for sts:AssumeRole whose Principal.AWS names the
  caller (its account's root, its ARN, or *), and its conditions ArnEquals / ArnLike on aws:PrincipalArn and
  StringEquals on sts:ExternalId. A role moto has never heard of is still assumed, as before (tests of the
  inventory assume roles nobody created).
"""

import fnmatch
import functools
import json
import re
from urllib.parse import parse_qs

from moto.iam.models import Role, iam_backends


def _put_policy(original):
    def put_policy(self, policy_name, policy_json):
        if not isinstance(policy_json, str):
            policy_json = json.dumps(policy_json)
        return original(self, policy_name, policy_json)

    return put_policy


def caller_arn(access_key, account):
    """The ARN IAM knows the caller by (aws:PrincipalArn), or None."""
    if re.match(r"^\d{12}$", access_key or ""):
        return "arn:aws:iam::%s:root" % access_key
    backend = iam_backends[account]["aws"]
    key = backend.access_keys.get(access_key)
    if key is None:
        return None
    if getattr(key, "role_arn", None):
        return key.role_arn
    return "arn:aws:iam::%s:user/%s" % (account, key.user_name) if key.user_name else None


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _principal_matches(principal, caller, caller_account):
    names = _as_list((principal or {}).get("AWS", [])) if isinstance(principal, dict) else _as_list(principal)
    return any(name in ("*", caller, caller_account, "arn:aws:iam::%s:root" % caller_account) for name in names)


def _conditions_hold(conditions, caller, external_id):
    for operator, tests in (conditions or {}).items():
        for key, wanted in tests.items():
            wanted = _as_list(wanted)
            if key == "aws:PrincipalArn" and operator == "ArnEquals":
                ok = caller in wanted
            elif key == "aws:PrincipalArn" and operator == "ArnLike":
                ok = any(fnmatch.fnmatchcase(caller, pattern) for pattern in wanted)
            elif key == "sts:ExternalId" and operator == "StringEquals":
                ok = external_id in wanted
            else:
                return False  # a condition this emulator does not know never lets anyone in
            if not ok:
                return False
    return True


def assume_role_refusal(body, access_key, caller_account):
    """The AccessDenied message for an AssumeRole the role's trust policy refuses, or None."""
    params = parse_qs(body.decode(errors="replace"))
    role_arn = (params.get("RoleArn") or [""])[0]
    match = re.match(r"^arn:aws:iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)$", role_arn)
    if not match:
        return None
    role = next((role for role in iam_backends[match.group(1)]["aws"].roles.values()
                 if role.name == match.group(2)), None)
    caller = caller_arn(access_key, caller_account)
    if role is None or caller is None:
        return None
    trust = json.loads(role.assume_role_policy_document)
    external_id = (params.get("ExternalId") or [None])[0]
    for statement in _as_list(trust.get("Statement", [])):
        if (statement.get("Effect") == "Allow" and "sts:AssumeRole" in _as_list(statement.get("Action"))
                and _principal_matches(statement.get("Principal"), caller, caller_account)
                and _conditions_hold(statement.get("Condition"), caller, external_id)):
            return None
    return "User: %s is not authorized to perform: sts:AssumeRole on resource: %s" % (caller, role_arn)


def denied_response(start_response, message):
    body = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            '<Code>AccessDenied</Code><Message>%s</Message></Error><RequestId>keyguard-emulator</RequestId>'
            '</ErrorResponse>' % message).encode()
    start_response("403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


@functools.cache  # moto is patched once per process
def apply_iam_rules():
    Role.put_policy = _put_policy(Role.put_policy)
