# Frames over 2 GiB (the -1 + 8-byte header) with CPython 3.8+.
#   huge_peer.py client HOST PORT SIZE   send one SIZE-byte frame, expect it echoed
#   huge_peer.py server SIZE             print "READY port", receive one frame, send one back
# A frame's first and last MiB carry a pattern (the rest is zero); both ends check size and pattern.
import sys
from multiprocessing.connection import Client, Listener

MIB = 1 << 20


def make(n):
    data = bytearray(n)
    mark = bytes(bytearray((i * 7 + 3) & 0xFF for i in range(256))) * (MIB // 256)
    data[:MIB] = mark
    data[n - MIB:] = mark
    return data, mark


def check(data, n, mark):
    if len(data) != n or data[:MIB] != mark or data[len(data) - MIB:] != mark:
        sys.stdout.write('MISMATCH len=%d\n' % len(data))
        sys.exit(1)


mode = sys.argv[1]
if mode == 'client':
    n = int(sys.argv[4])
    data, mark = make(n)
    c = Client((sys.argv[2], int(sys.argv[3])), authkey=b'huge')
    c.send_bytes(data)
    del data
    check(c.recv_bytes(), n, mark)
    sys.stdout.write('OK client %d\n' % n)
else:
    n = int(sys.argv[2])
    l = Listener(('127.0.0.1', 0), authkey=b'huge')
    sys.stdout.write('READY %d\n' % l.address[1])
    sys.stdout.flush()
    c = l.accept()
    data, mark = make(n)
    check(c.recv_bytes(), n, mark)
    c.send_bytes(data)
    c.close()
    sys.stdout.write('OK server %d\n' % n)
sys.stdout.flush()
