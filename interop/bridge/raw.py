# Raw stdlib child (no helper): the Connection on MPWIRE_FD, echo pickled values with a tag.
import os
import sys
try:
    from multiprocessing.connection import Connection
except ImportError:
    from _multiprocessing import Connection

conn = Connection(int(os.environ['MPWIRE_FD']))
while True:
    try:
        obj = conn.recv()
    except EOFError:
        break
    conn.send(('echo', obj))
sys.exit(0)
