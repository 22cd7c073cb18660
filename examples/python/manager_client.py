# The Python side of examples/serve-manager-to-python.mjs: stock manager client code.
# Standard library only; CPython 2.7 and 3.6 to 3.15.
#   python manager_client.py PORT AUTHKEY NAME
from __future__ import print_function

import sys
from multiprocessing.managers import BaseManager, DictProxy


class Remote(BaseManager):
    pass


Remote.register('get_board')
Remote.register('get_results', proxytype=DictProxy)

port, authkey, name = int(sys.argv[1]), sys.argv[2].encode('utf-8'), sys.argv[3]
m = Remote(address=('127.0.0.1', port), authkey=authkey)
m.connect()
board, results = m.get_board(), m.get_results()
# A JS exception built with pyError() arrives as the real Python exception.
assert board.check('alpha') is True
for unknown in (42, 'zeta'):
    try:
        board.check(unknown)
    except KeyError as e:
        assert e.args == (unknown,), e.args
    else:
        raise AssertionError('board.check(%r) did not raise KeyError' % (unknown,))
done = 0
while True:
    job = board.next()
    if job is None:
        break
    results[job] = '%s by %s' % (job.upper(), name)
    done += 1
print('%s did %d jobs' % (name, done) if done else '%s found no work' % name)
