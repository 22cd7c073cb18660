# Python side of bench/managers/dict.mjs: N rounds of d['k'] = i; d['k'] on a DictProxy of the
# manager at 127.0.0.1:PORT; prints the elapsed seconds. Stdlib only.
#   python py_client.py PORT AUTHKEY N
from __future__ import print_function

import sys
import time
from multiprocessing.managers import SyncManager


def main():
    port, authkey, n = int(sys.argv[1]), sys.argv[2].encode('utf-8'), int(sys.argv[3])
    m = SyncManager(address=('127.0.0.1', port), authkey=authkey)
    m.connect()
    d = m.dict()
    d['k'] = 0
    d['k']  # warm: the object-call connection is open
    t0 = time.perf_counter()
    for i in range(n):
        d['k'] = i
        if d['k'] != i:
            raise SystemExit('wrong value')
    print('SECONDS %.6f' % (time.perf_counter() - t0))
    sys.stdout.flush()


if __name__ == '__main__':
    main()
