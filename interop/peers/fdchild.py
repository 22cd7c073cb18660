# Child end of an inherited socket: wraps the fd named by MPWIRE_FD (default 3) in the stdlib
# Connection and echoes frames until EOF, then prints "OK echoed N". Runs on 2.7 and 3.6+.
import os
import sys
try:
    from multiprocessing.connection import Connection
except ImportError:  # Python 2.7 keeps the fd-based Connection in the C module
    from _multiprocessing import Connection

conn = Connection(int(os.environ.get('MPWIRE_FD', '3')))
count = 0
while True:
    try:
        data = conn.recv_bytes()
    except EOFError:
        break
    conn.send_bytes(data[::-1])
    count += 1
conn.close()
sys.stdout.write('OK echoed %d\n' % count)
sys.stdout.flush()
