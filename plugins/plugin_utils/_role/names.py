# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Names made from inventory host names, which the accounts' owners control (account names).

A host name may hold '/', '..', spaces or letters outside ASCII, and two host names
may differ only in such characters. Every file name, S3 key and variable name made
from one is safe, unique and stable: the host name itself where it is already
safe, otherwise a readable slug plus a short hash of the exact name.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

import hashlib
import os
import re

_SAFE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_UNSAFE_FILE_RUN = re.compile(r"[^A-Za-z0-9_.-]+")
_SAFE_VARIABLE = re.compile(r"^[A-Za-z0-9_]{1,100}$")
_UNSAFE_VARIABLE_RUN = re.compile(r"[^A-Za-z0-9_]+")
_SLUG_LENGTH = 60
_LOOKS_DERIVED = re.compile(r"[-_][0-9a-f]{10}$")
# Names of the Organization report's own files and history: a host of that name gets a derived one.
RESERVED = ("organization",)


def digest(name):
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def _safe(host, safe, unsafe_run, joiner):
    host = str(host)
    # A safe name that looks like a derived one could take another host's name: it is hashed too.
    if safe.match(host) and not _LOOKS_DERIVED.search(host) and host.lower() not in RESERVED:
        return host
    slug = unsafe_run.sub(joiner, host).strip(".-_")[:_SLUG_LENGTH] or "host"
    return "%s%s%s" % (slug, joiner, digest(host))


def file_name(host):
    """A file or S3 key part for ``host``: no separator, no dot-only name, never shared by two hosts."""
    return _safe(host, _SAFE_FILE, _UNSAFE_FILE_RUN, "-")


def variable_part(host):
    """A part of a variable name for ``host`` (ASCII letters, digits, underscores), never shared by two hosts."""
    return _safe(host, _SAFE_VARIABLE, _UNSAFE_VARIABLE_RUN, "_")


def inside(folder, name):
    """``folder``/``name``, refused when it would not be directly inside ``folder``."""
    path = os.path.join(folder, name)
    if os.path.dirname(os.path.abspath(path)) != os.path.abspath(folder) or name in ("", ".", ".."):
        raise ValueError("%r is not a file name inside %s" % (name, folder))
    return path
