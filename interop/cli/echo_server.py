# A plain CPython Listener that echoes every frame (recv_bytes -> send_bytes), one connection at a
# time, surviving failed handshakes. argv: KEY (or '-' for no authkey) [--rhel] (RHEL/Fedora's raw
# HMAC-SHA256 dialect, emulated as in interop/peers/peer.py). Prints "ADDRESS host port".
# Runs on 2.7 and 3.6+.
import os
import sys
from multiprocessing.connection import Listener

if '--rhel' in sys.argv[2:]:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'peers'))
    from peer import use_rhel_dialect
    use_rhel_dialect()

key = sys.argv[1]
kwargs = {} if key == '-' else {'authkey': key.encode('utf-8')}
listener = Listener(('127.0.0.1', 0), **kwargs)
sys.stdout.write('ADDRESS %s %d\n' % listener.address)
sys.stdout.flush()
while True:
    try:
        conn = listener.accept()
    except Exception as e:  # wrong key, oversized handshake message, peer gone
        sys.stderr.write('accept failed: %r\n' % (e,))
        continue
    try:
        while True:
            conn.send_bytes(conn.recv_bytes())
    except (EOFError, IOError, OSError):
        pass
    conn.close()
