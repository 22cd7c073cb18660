# The Python side of examples/manager-demo.mjs: a BaseManager serving a job queue and a results
# dict. Stdlib only. Prints "READY <host> <port>" and serves until the Node side calls shutdown.
#   python manager_server.py AUTHKEY
from __future__ import print_function

import sys
from multiprocessing.managers import BaseManager, DictProxy

try:
    import queue
except ImportError:
    import Queue as queue

JOBS = queue.Queue()
RESULTS = {}


class JobManager(BaseManager):
    pass


JobManager.register('get_jobs', callable=lambda: JOBS)
JobManager.register('get_results', callable=lambda: RESULTS, proxytype=DictProxy)

if __name__ == '__main__':
    manager = JobManager(address=('127.0.0.1', 0), authkey=sys.argv[1].encode('utf-8'))
    server = manager.get_server()
    print('READY %s %d' % server.address)
    sys.stdout.flush()
    server.serve_forever()
