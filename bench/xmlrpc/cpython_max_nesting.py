"""How deep CPython's xmlrpc dumps can nest arrays before RecursionError (default recursion limit).
This chose mpwire/xmlrpc's DEFAULT_MAX_DEPTH. Run with any interpreter: python cpython_max_nesting.py
"""
from __future__ import print_function

import sys

try:
    import xmlrpc.client as xc
except ImportError:
    import xmlrpclib as xc


def nest(n):
    v = 1
    for _ in range(n):
        v = [v]
    return v


lo, hi = 1, 5000
while lo < hi:
    mid = (lo + hi + 1) // 2
    try:
        xc.dumps((nest(mid),), None, None, None, 1)
        lo = mid
    except RuntimeError:  # RecursionError is a RuntimeError
        hi = mid - 1
# params + param + value, then 3 elements (value/array/data) per level, plus the innermost <int>
print('%s: max nesting %d arrays = %d elements deep' % (sys.version.split()[0], lo, 3 + 3 * lo + 1))
