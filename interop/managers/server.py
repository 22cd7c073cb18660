# A manager server for mpwire's managers interop suite (stdlib only, Python 2.7 and 3.6+).
#
#   python server.py tcp|unix ADDRESS AUTHKEY [pickle|xmlrpclib] [--rhel]
#
# --rhel makes the server speak Red Hat's raw HMAC-SHA256 handshake (the dialect emulation of
# ../peers/peer.py, which patches multiprocessing.connection).
#
# ADDRESS is a port (TCP on 127.0.0.1, 0 = any free port) or a socket path. Serves a SyncManager
# subclass with extra registered callables (a custom BaseManager registry on top of the stock
# typeids), prints "READY <address>" and serves until `shutdown` or a signal.
from __future__ import print_function

import os
import sys
import threading
import time
import multiprocessing
from multiprocessing.managers import SyncManager, BaseProxy

try:
    import queue
except ImportError:  # Python 2
    import Queue as queue

SHARED_QUEUE = queue.Queue()
SHARED_DICT = {}


class CustomError(Exception):
    def __init__(self, message, code):
        Exception.__init__(self, message)
        self.code = code


class Calc(object):
    """A plain class served through a registered callable (AutoProxy with computed exposed)."""

    def __init__(self, base=0):
        self.base = base

    def add(self, a, b=0):
        return self.base + a + b

    def echo(self, *args, **kwargs):
        return [list(args), kwargs]

    def fail(self, message):
        raise ValueError(message)

    def custom(self):
        raise CustomError('custom failure', 7)

    def unpicklable(self):
        return lambda: None

    def sleep(self, seconds):
        time.sleep(seconds)
        return seconds

    def make_dict(self, value):
        return dict(value)

    def pid(self):
        return os.getpid()


class TestManager(SyncManager):
    pass


TestManager.register('get_queue', callable=lambda: SHARED_QUEUE)
TestManager.register('get_dict', callable=lambda: SHARED_DICT, proxytype=multiprocessing.managers.DictProxy)
TestManager.register('Calc', callable=Calc, method_to_typeid={'make_dict': 'dict'})


def main():
    argv = [a for a in sys.argv[1:] if not a.startswith('--')]
    family, address, authkey = argv[0], argv[1], argv[2].encode('utf-8')
    serializer = argv[3] if len(argv) > 3 else 'pickle'
    if '--rhel' in sys.argv:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'peers'))
        from peer import use_rhel_dialect
        use_rhel_dialect()
    if family == 'tcp':
        addr = ('127.0.0.1', int(address))
    else:
        addr = address
    # Proxies sent back to the server (nested proxies) connect with the process authkey on
    # versions without manager-owned proxies (2.7, 3.6): make it the manager's key.
    multiprocessing.current_process().authkey = authkey
    manager = TestManager(address=addr, authkey=authkey, serializer=serializer)
    server = manager.get_server()
    a = server.address
    if isinstance(a, tuple):
        print('READY %s %d' % (a[0], a[1]))
    else:
        print('READY %s' % (a,))
    sys.stdout.flush()
    server.serve_forever()


if __name__ == '__main__':
    main()
