# The Python side of examples/python-manager-queue.mjs: a BaseManager serving two queues, and a
# thread that squares each task. Standard library only; CPython 2.7 and 3.6 to 3.15.
#   python queue_manager.py AUTHKEY        prints "READY <port>", serves until shutdown
from __future__ import print_function

import sys
import threading
from multiprocessing.managers import BaseManager

try:
    import queue
except ImportError:
    import Queue as queue

TASKS = queue.Queue()
RESULTS = queue.Queue()


def squarer():
    while True:
        task = TASKS.get()
        RESULTS.put({'n': task['n'], 'square': task['n'] ** 2, 'worker': 'python-thread'})


class QueueManager(BaseManager):
    pass


QueueManager.register('get_tasks', callable=lambda: TASKS)
QueueManager.register('get_results', callable=lambda: RESULTS)

if __name__ == '__main__':
    t = threading.Thread(target=squarer)
    t.daemon = True
    t.start()
    manager = QueueManager(address=('127.0.0.1', 0), authkey=sys.argv[1].encode('utf-8'))
    server = manager.get_server()
    print('READY %d' % server.address[1])
    sys.stdout.flush()
    server.serve_forever()
