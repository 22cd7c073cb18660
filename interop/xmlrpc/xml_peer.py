# -*- coding: utf-8 -*-
"""Live XML-flavour peer for mpwire's interop tests (stdlib only; Python 2.7, 3.6+).

  xml_peer.py server AUTHKEY   XmlListener on 127.0.0.1 (free port): prints "READY <port>", accepts one
                               connection, then runs the echo session.
  xml_peer.py client PORT AUTHKEY
                               XmlClient to 127.0.0.1:PORT, then runs the echo session.

Echo session: send GREETING (a value built here), then echo every received object back until the
string 'STOP' arrives; print "DONE <count>" and exit. Errors print "ERROR <type> <message>".
"""
from __future__ import print_function, unicode_literals

import datetime
import sys
import traceback
from multiprocessing.connection import XmlClient, XmlListener

import os

DEBUG = bool(os.environ.get('XML_PEER_DEBUG'))
PY2 = sys.version_info[0] == 2
if PY2:
    import xmlrpclib as xc
    TEXT = (str, unicode)  # noqa: F821 -- 2.7's loads gives str for ASCII text
else:
    import xmlrpc.client as xc
    TEXT = (str,)

GREETING = {
    'version': '%d.%d.%d' % sys.version_info[:3],
    'values': [1, -2 ** 31, 2 ** 31 - 1, 2.5, 0.1, 1e16, float('inf'), '\U0001F600 <&> ]]>', '', None, True, False,
               xc.Binary(b'\x00\xffhi'), datetime.datetime(2024, 1, 2, 3, 4, 5), [], {}, (1, 'a')],
    'nested': {'a': {'b': [1, [2, [3]]]}},
}


def session(conn):
    conn.send(GREETING)
    n = 0
    while True:
        obj = conn.recv()
        if isinstance(obj, TEXT) and obj == 'STOP':  # 2.7's Binary.__cmp__ cannot compare with text
            break
        conn.send(obj)
        n += 1
        if DEBUG:
            sys.stderr.write('echoed %d: %r\n' % (n, obj))
            sys.stderr.flush()
    print('DONE %d' % n)
    sys.stdout.flush()


def main():
    role = sys.argv[1]
    try:
        if role == 'server':
            key = sys.argv[2].encode('utf-8')
            listener = XmlListener(('127.0.0.1', 0), authkey=key)
            print('READY %d' % listener.address[1])
            sys.stdout.flush()
            conn = listener.accept()
            session(conn)
            conn.close()
            listener.close()
        else:
            port, key = int(sys.argv[2]), sys.argv[3].encode('utf-8')
            conn = XmlClient(('127.0.0.1', port), authkey=key)
            session(conn)
            conn.close()
    except Exception as e:  # noqa: BLE001
        print('ERROR %s %s' % (type(e).__name__, e))
        traceback.print_exc()
        sys.stdout.flush()
        sys.exit(1)


if __name__ == '__main__':
    main()
