# The Python side of examples/client-of-python-listener.mjs: a stock multiprocessing Listener.
# Standard library only; any CPython from 2.7 to 3.15. Prints "READY <port>", serves one client.
#   python job_listener.py AUTHKEY
from __future__ import print_function

import sys
from multiprocessing.connection import Listener

listener = Listener(('127.0.0.1', 0), authkey=sys.argv[1].encode('utf-8'))
print('READY %d' % listener.address[1])
sys.stdout.flush()
conn = listener.accept()
while True:
    msg = conn.recv()
    if msg is None:
        break
    print('received %s %r' % (type(msg).__name__, msg))
    sys.stdout.flush()
    if isinstance(msg, dict):
        conn.send({'joined': ' '.join(msg['words']), 'count': len(msg['words'])})
    else:
        conn.send(('%s of %d items' % (type(msg).__name__, len(msg)), sum(msg)))
conn.close()
listener.close()
