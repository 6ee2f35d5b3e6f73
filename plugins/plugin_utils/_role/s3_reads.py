# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading back what runs published to S3 (reports for a summary, plans to apply), on the controller.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import os

CONNECTION_VARIABLES = ("rotation_aws_profile", "rotation_aws_access_key", "rotation_aws_secret_key",
                        "rotation_aws_session_token", "rotation_aws_endpoint_url")


def variable_reader(templar, task_vars):
    """``given(name)``: a variable's templated value, or None when it is unset or empty."""
    def given(name):
        value = task_vars.get(name)
        return templar.template(value) if value else None

    return given


def client(region, given):
    """An S3 client with the role's connection variables; ``given(name)`` is a variable's templated value or None."""
    import boto3  # pylint: disable=import-outside-toplevel  # only the runs that read S3 need it

    session = boto3.session.Session(
        profile_name=given("rotation_aws_profile"), aws_access_key_id=given("rotation_aws_access_key"),
        aws_secret_access_key=given("rotation_aws_secret_key"), aws_session_token=given("rotation_aws_session_token"))
    return session.client("s3", region_name=region or os.environ.get("AWS_REGION") or "us-east-1",
                          endpoint_url=given("rotation_aws_endpoint_url"))


def keys_under(s3, bucket, prefix):
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents") or [])
    return keys


def latest_per_host(keys, prefix, suffix=".json"):
    """{host folder: the key of its latest <host><suffix>} among S3 keys <prefix><host>/<started>-<run id>/<host><suffix>."""
    latest = {}
    for key in keys:
        parts = key[len(prefix):].split("/")
        if len(parts) == 3 and parts[2] == parts[0] + suffix and parts[0] != "organization":
            if parts[0] not in latest or key > latest[parts[0]]:
                latest[parts[0]] = key
    return latest
