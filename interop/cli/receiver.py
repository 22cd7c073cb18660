# Accept one connection and report what arrived. argv: KEY MODE COUNT; MODE 'obj' prints repr(recv())
# and answers ('got', obj); 'bytes' prints the length and sha256 of recv_bytes() and answers b'ok'.
# Prints "ADDRESS host port" first.
import hashlib
import sys
from multiprocessing.connection import Listener

key, mode, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
listener = Listener(('127.0.0.1', 0), authkey=key.encode('utf-8'))
sys.stdout.write('ADDRESS %s %d\n' % listener.address)
sys.stdout.flush()
for _ in range(count):
    conn = listener.accept()
    if mode == 'obj':
        obj = conn.recv()
        sys.stdout.write('GOT %r\n' % (obj,))
        conn.send(('got', obj))
    else:
        data = conn.recv_bytes()
        sys.stdout.write('GOT %d %s\n' % (len(data), hashlib.sha256(data).hexdigest()))
        conn.send_bytes(b'ok')
    sys.stdout.flush()
    try:
        conn.recv_bytes()
    except EOFError:
        pass
    conn.close()
