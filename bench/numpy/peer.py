# NumPy benchmark peer of bench/numpy/bench.mjs.
#   peer.py SOCKET_PATH AUTHKEY node   -> connects to Node's Listener; per command frame:
#        b"pickle": Connection.send(a)      (ForkingPickler, the interpreter's default protocol)
#        b"bytes":  Connection.send_bytes(a) (the array's buffer, no pickle)
#        b"dumps":  time ForkingPickler.dumps(a) here and send the milliseconds back
#   peer.py SOCKET_PATH AUTHKEY py     -> Python-to-Python baseline on the same kind of socket: a
#        Listener here and a child process that sends `a` with Connection.send per request; each
#        "go" line on stdin runs one round and prints "MS <send-to-usable-array milliseconds>".
# The array is np.random.rand(2048, 2048): 32 MiB of float64.
import os
import subprocess
import sys
import time

import numpy as np
from multiprocessing.connection import Client, Listener
from multiprocessing.reduction import ForkingPickler

path, key, mode = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
SHAPE = (2048, 2048)

if mode == 'node':
    a = np.random.rand(*SHAPE)
    conn = Client(path, authkey=key)
    while True:
        try:
            cmd = conn.recv_bytes()
        except EOFError:
            break
        if cmd == b'pickle':
            conn.send(a)
        elif cmd == b'bytes':
            conn.send_bytes(a)
        elif cmd == b'dumps':
            # How long CPython's own pickling takes (what Connection.send does before writing).
            t0 = time.perf_counter()
            ForkingPickler.dumps(a)
            conn.send_bytes(b'%.3f' % ((time.perf_counter() - t0) * 1000))
    sys.exit(0)

if mode == 'child':
    a = np.random.rand(*SHAPE)
    conn = Client(path, authkey=key)
    while True:
        try:
            conn.recv_bytes()
        except EOFError:
            break
        conn.send(a)
    sys.exit(0)

# mode == 'py': the Python-to-Python baseline.
listener = Listener(path, authkey=key)
child = subprocess.Popen([sys.executable, __file__, path, sys.argv[2], 'child'])
conn = listener.accept()
sys.stdout.write('READY %s\n' % np.__version__)
sys.stdout.flush()
for line in sys.stdin:
    if line.strip() != 'go':
        break
    t0 = time.perf_counter()
    conn.send_bytes(b'go')
    b = conn.recv()
    assert b.shape == SHAPE and b.dtype == np.float64
    b[-1, -1]
    sys.stdout.write('MS %.3f\n' % ((time.perf_counter() - t0) * 1000))
    sys.stdout.flush()
conn.close()
child.wait()
