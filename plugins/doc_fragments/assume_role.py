# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Working in another account through a role, without a task of its own to assume it.
    DOCUMENTATION = r"""
options:
  assume_role_arn:
    description:
      - A role to assume, with the connection's credentials, before any other call; every call then runs as that
        role, typically in a member account (C(arn:aws:iam::<account>:role/<name>)).
      - The module asks STS once; the temporary credentials never leave the module.
      - Its partition must be the one of the Regions worked in.
    type: str
  assume_role_session_name:
    description: Session name of the assumed role, shown in CloudTrail.
    type: str
    default: keyguard-kms
  assume_role_external_id:
    description: External ID the role's trust policy requires, if any.
    type: str
"""
