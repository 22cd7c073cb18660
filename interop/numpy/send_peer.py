# NumPy peer of interop/numpy/numpy.test.ts ("arrays received with conn.recv()"), on the stdlib
# Connection of MPWIRE_FD: sends float64 arrays of 1 to 40 items with Connection.send (so their
# payloads land at every alignment inside the frames), then the string 'END'.
import os

import numpy as np
from multiprocessing.connection import Connection

conn = Connection(int(os.environ['MPWIRE_FD']))
for n in range(1, 41):
    conn.send(np.arange(n, dtype='<f8') * 0.5 + n)
conn.send('END')
conn.close()
