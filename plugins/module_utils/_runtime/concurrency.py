# -*- coding: utf-8 -*-
# Copyright: keyguard.kms contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Work on many items at once: Regions, accounts and keys are independent.

This is a private module: its interface may change without notice.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


def map_concurrently(function, items, concurrency):
    """``function`` over ``items`` on a thread pool, results in input order."""
    items = list(items)
    if concurrency <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        return list(pool.map(function, items))
