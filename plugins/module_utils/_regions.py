# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Region names checked before any call, so a typo is an error and not a hang or an empty scan.

This is a private module: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    import botocore.session
except ImportError:
    pass  # Handled by AnsibleAWSModule

_REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def known_kms_regions():
    session = botocore.session.get_session()
    regions = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("kms", partition))
    return regions


def region_errors(regions, known=None):
    """Messages for Region names that are malformed or unknown to this botocore."""
    known = known_kms_regions() if known is None else known
    errors = []
    for region in regions:
        if not region or not _REGION_NAME.match(region):
            errors.append("'%s' is not a Region name (expected something like eu-west-1)" % region)
        elif known and region not in known:
            errors.append(
                "unknown Region '%s': KMS is not offered there according to botocore; "
                "check the name, or upgrade botocore if the Region is new" % region
            )
    return errors
