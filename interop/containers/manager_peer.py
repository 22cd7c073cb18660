# Managers scenarios for the container interop suite. Stdlib only; runs on CPython 2.7 and 3.6+.
#
#   manager_peer.py server AUTHKEY              serve a stock SyncManager on ('0.0.0.0', $MPWIRE_PEER_PORT)
#                                               (the port the container publishes), print "READY <port> <pid>",
#                                               serve until killed
#   manager_peer.py client HOST PORT AUTHKEY    stock SyncManager client against the TS serveManager:
#                                               dict, Queue, Namespace; prints "OK <n>" or "ERROR <repr>"
from __future__ import print_function

import gc
import os
import signal
import sys
import time
import traceback

from multiprocessing.managers import SyncManager


def out(line):
    sys.stdout.write(line + '\n')
    sys.stdout.flush()


def server(authkey):
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    port = int(os.environ.get('MPWIRE_PEER_PORT', '0'))
    manager = SyncManager(address=('0.0.0.0', port), authkey=authkey)
    srv = manager.get_server()
    out('READY %d %d' % (srv.address[1], os.getpid()))
    srv.serve_forever()


def client(host, port, authkey):
    m = SyncManager(address=(host, port), authkey=authkey)
    m.connect()
    n = 0
    d = m.dict()
    d['k'] = u'v'
    d['n'] = 2 ** 40
    assert d['k'] == u'v' and d['n'] == 2 ** 40 and len(d) == 2, repr(d._getvalue())
    assert d.get('missing', 7) == 7
    n += 1
    q = m.Queue()
    q.put({'x': (1, 2.5)})
    q.put(u'two')
    assert q.qsize() == 2
    assert q.get(timeout=5) == {'x': (1, 2.5)} and q.get(timeout=5) == u'two'
    assert q.empty()
    n += 1
    ns = m.Namespace(a=1)
    ns.b = u'two'
    assert ns.a == 1 and ns.b == u'two'
    n += 1
    del d, q, ns
    gc.collect()
    time.sleep(0.2)
    left = m._number_of_objects()
    assert left == 0, 'number_of_objects %r' % left
    out('OK %d' % n)


def main():
    mode = sys.argv[1]
    try:
        if mode == 'server':
            server(sys.argv[2].encode('utf-8'))
        else:
            client(sys.argv[2], int(sys.argv[3]), sys.argv[4].encode('utf-8'))
    except SystemExit:
        raise
    except BaseException:
        out('ERROR ' + traceback.format_exc().replace('\n', ' | '))
        sys.exit(1)


if __name__ == '__main__':
    main()
