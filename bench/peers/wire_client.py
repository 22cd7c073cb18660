# Benchmark client (Python 3.6+): drives an echo/sink server speaking multiprocessing framing.
#   wire_client.py HOST_OR_PATH PORT AUTHKEY rtt SIZE N          -> "RESULT <seconds per round trip>"
#   wire_client.py HOST_OR_PATH PORT AUTHKEY stream SIZE N       -> "RESULT <seconds for N frames>"
#   wire_client.py HOST_OR_PATH PORT AUTHKEY connect N           -> "RESULT <seconds per connection>"
#   wire_client.py ... serve FAMILY                              -> runs the CPython server instead
# PORT "-" means HOST_OR_PATH is a Unix socket path. AUTHKEY "-" means none.
# The first frame of every connection names the mode: b"echo" or b"sink N" (reply b"done" after N frames).
import sys
import time
from multiprocessing.connection import Client, Listener


def address():
    return sys.argv[1] if sys.argv[2] == '-' else (sys.argv[1], int(sys.argv[2]))


def key():
    return None if sys.argv[3] == '-' else sys.argv[3].encode()


def serve():
    listener = Listener(address(), authkey=key(), backlog=64)
    sys.stdout.write('READY\n')
    sys.stdout.flush()
    while True:
        conn = listener.accept()
        try:
            mode = conn.recv_bytes()
        except EOFError:
            conn.close()
            continue
        if mode == b'quit':
            break
        if mode == b'echo':
            try:
                while True:
                    conn.send_bytes(conn.recv_bytes())
            except EOFError:
                pass
        else:
            n = int(mode.split()[1])
            for _ in range(n):
                conn.recv_bytes()
            conn.send_bytes(b'done')
        conn.close()


def main():
    mode = sys.argv[4]
    if mode == 'serve':
        return serve()
    if mode == 'connect':
        n = int(sys.argv[5])
        t = time.perf_counter()
        for _ in range(n):
            c = Client(address(), authkey=key())
            c.close()
        dt = (time.perf_counter() - t) / n
    else:
        size, n = int(sys.argv[5]), int(sys.argv[6])
        payload = b'x' * size
        c = Client(address(), authkey=key())
        if mode == 'rtt':
            c.send_bytes(b'echo')
            for _ in range(min(n, 20)):  # warm-up
                c.send_bytes(payload)
                c.recv_bytes()
            t = time.perf_counter()
            for _ in range(n):
                c.send_bytes(payload)
                c.recv_bytes()
            dt = (time.perf_counter() - t) / n
        else:
            c.send_bytes(('sink %d' % n).encode())
            t = time.perf_counter()
            for _ in range(n):
                c.send_bytes(payload)
            assert c.recv_bytes() == b'done'
            dt = time.perf_counter() - t
        c.close()
    sys.stdout.write('RESULT %.9f\n' % dt)


main()
