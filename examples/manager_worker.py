# A worker process of examples/manager-demo.mjs: takes jobs from the manager's queue until it gets
# None, and stores each result in the shared results dict. Stdlib only.
#   python manager_worker.py PORT AUTHKEY NAME
from __future__ import print_function

import hashlib
import os
import sys
from multiprocessing.managers import BaseManager, DictProxy


class JobManager(BaseManager):
    pass


JobManager.register('get_jobs')
JobManager.register('get_results', proxytype=DictProxy)


def work(job):
    # A small CPU-bound task: iterate SHA-256 over the job's payload.
    h = job['payload'].encode('utf-8')
    for _ in range(job['rounds']):
        h = hashlib.sha256(h).digest()
    return hashlib.sha256(h).hexdigest()[:16]


def main():
    port, authkey, name = int(sys.argv[1]), sys.argv[2].encode('utf-8'), sys.argv[3]
    m = JobManager(address=('127.0.0.1', port), authkey=authkey)
    m.connect()
    jobs, results = m.get_jobs(), m.get_results()
    done = 0
    while True:
        job = jobs.get()
        if job is None:
            break
        results[job['id']] = {'worker': name, 'pid': os.getpid(), 'digest': work(job)}
        done += 1
    print('%s (pid %d) finished %d jobs' % (name, os.getpid(), done))


if __name__ == '__main__':
    main()
