# Worker for examples/bridge-demo.mjs: answers calls from Node and calls back into Node.
# Needs only the stdlib of Python 3 (statistics); mpwire_child ships with the package and is put on
# PYTHONPATH for you.
import statistics
import sys

import mpwire_child


def describe(numbers):
    if len(numbers) > 5:
        mpwire_child.call('log', 'python %d.%d got %d numbers' % (sys.version_info[0], sys.version_info[1], len(numbers)))
    return {'mean': statistics.mean(numbers), 'stdev': statistics.stdev(numbers), 'max': max(numbers)}


def fail():
    return {}['missing']


mpwire_child.serve({'describe': describe, 'fail': fail})
