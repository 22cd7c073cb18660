# The Python side of examples/server-for-python-clients.mjs: a stock multiprocessing Client.
# Standard library only; any CPython from 2.7 to 3.15.
#   python job_client.py HOST PORT AUTHKEY
from __future__ import print_function

import sys
from multiprocessing.connection import Client

host, port, authkey = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode('utf-8')
conn = Client((host, port), authkey=authkey)
for op, args in [('sum', (1, 2, 3)), ('max', (4, 9, 2))]:
    conn.send({'op': op, 'args': args})
    print('python got', sorted(conn.recv().items()))
conn.send(None)
conn.close()
