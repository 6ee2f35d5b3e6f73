# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Region names checked before any call, so a typo is an error and not a hang or an empty scan.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ansible_collections.keyguard.kms.plugins.module_utils._aws.service import HAS_BOTOCORE
from ansible_collections.keyguard.kms.plugins.module_utils._aws.clients import botocore_session

_REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
# Used when botocore cannot tell; botocore's own partition data wins.
_PARTITION_PREFIXES = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b"),
                       ("us-iso-", "aws-iso"), ("eu-isoe-", "aws-iso-e"), ("us-isof-", "aws-iso-f"))


@lru_cache(maxsize=1)
def _session():
    return botocore_session()


def known_kms_regions():
    if not HAS_BOTOCORE:
        return set()
    session = _session()
    regions = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("kms", partition))
    return regions


def partition_of(region):
    """The AWS partition of a Region: aws, aws-cn, aws-us-gov, ..."""
    if HAS_BOTOCORE:
        try:
            return _session().get_partition_for_region(region)
        except Exception:  # pylint: disable=broad-except  # older botocore
            pass
    for prefix, partition in _PARTITION_PREFIXES:
        if region.startswith(prefix):
            return partition
    return "aws"


def region_errors(regions, known=None):
    """Messages for Region names that are malformed, unknown to this botocore, or of mixed partitions."""
    known = known_kms_regions() if known is None else known
    errors = []
    for region in regions:
        if not isinstance(region, str) or not _REGION_NAME.match(region):
            errors.append("'%s' is not a Region name (expected something like eu-west-1)" % (region,))
        elif known and region not in known:
            errors.append(
                "unknown Region '%s': KMS is not offered there according to botocore; "
                "check the name, or upgrade botocore if the Region is new" % region
            )
    if not errors:
        partitions = sorted(set(partition_of(region) for region in regions))
        if len(partitions) > 1:
            errors.append(
                "Regions %s are in different partitions (%s): one set of credentials cannot reach them all; "
                "use one inventory host per partition" % (", ".join(regions), ", ".join(partitions)))
    return errors


def regions_to_use(given, connection_region):
    """The Regions a task works in: ``given`` once each (in order), else the connection's Region."""
    if given is not None:
        return list(dict.fromkeys(given))
    return [connection_region] if connection_region else []


def profile_region(profile=None):
    """The Region an AWS profile (or the default configuration) names, or None."""
    if not HAS_BOTOCORE:
        return None
    import botocore.session  # pylint: disable=import-outside-toplevel

    try:
        return botocore.session.Session(profile=profile).get_config_variable("region")
    except Exception:  # pylint: disable=broad-except  # an unknown profile is the connection's error to report
        return None
