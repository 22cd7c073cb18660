# Load peer of mpwire's hardening suite and soak scripts (stdlib only, CPython 3.6+).
#
#   load_peer.py clients HOST PORT AUTHKEY FIRST_ID COUNT MESSAGES PAD
#       Open COUNT authenticated Client connections, one thread each, print "CONNECTED <count>"
#       once all are open, wait for a line "GO" on stdin, then on every connection send MESSAGES
#       pickled dicts {'c': id, 'i': seq, 'pad': 'x' * PAD} (ids FIRST_ID, FIRST_ID+1, ...), each
#       followed by receiving the echo, which must be equal. Prints "OK <messages verified>" or
#       "FAIL <detail>".
#   load_peer.py manager-clients HOST PORT AUTHKEY FIRST_ID COUNT SECONDS
#       COUNT threads, each a BaseManager client of typeids 'get_counters' (a dict) and 'get_log'
#       (a list): for SECONDS seconds, op k of client c does log.append([c, k]) and then
#       counters[str(c)] = k + 1. Prints "OPS <client> <ops>" per client and "DONE".
#   load_peer.py manager-server AUTHKEY
#       A BaseManager server with the typeids get_counters (dict) and get_log (list), as CPython
#       serves them; prints "READY <port>".
#   load_peer.py sink HOST PORT AUTHKEY
#       Connect, print "CONNECTED", wait for "GO" on stdin (not reading meanwhile), then receive
#       frames until EOF; prints "OK <frames> <bytes> <sum of the first byte of each frame>".
#   load_peer.py source HOST PORT AUTHKEY FRAMES SIZE
#       Connect and send FRAMES frames of SIZE bytes (byte 0 of frame k is k % 256); then wait for
#       one frame back and print "OK <its length>".
import sys
import threading
import time

from multiprocessing import connection
from multiprocessing.managers import BaseManager, DictProxy, ListProxy


def out(line):
    sys.stdout.write(line + '\n')
    sys.stdout.flush()


def clients(host, port, authkey, first, count, messages, pad):
    conns = []
    for _ in range(count):
        conns.append(connection.Client((host, port), authkey=authkey))
    out('CONNECTED %d' % len(conns))
    if sys.stdin.readline().strip() != 'GO':
        out('FAIL no GO')
        return
    results = [None] * count
    filler = 'x' * pad

    def run(k):
        c = conns[k]
        ident = first + k
        try:
            for i in range(messages):
                msg = {'c': ident, 'i': i, 'pad': filler}
                c.send(msg)
                back = c.recv()
                if back != msg:
                    results[k] = 'connection %d message %d came back as %r' % (ident, i, back)
                    return
            c.close()
            results[k] = messages
        except Exception as e:
            results[k] = 'connection %d: %r' % (ident, e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bad = [r for r in results if not isinstance(r, int)]
    if bad:
        out('FAIL %s' % bad[0])
    else:
        out('OK %d' % sum(results))


class LoadManager(BaseManager):
    pass


def manager_clients(host, port, authkey, first, count, seconds):
    LoadManager.register('get_counters', proxytype=DictProxy)
    LoadManager.register('get_log', proxytype=ListProxy)
    m = LoadManager(address=(host, port), authkey=authkey)
    m.connect()
    done = [0] * count
    errors = []
    deadline = time.time() + seconds

    def run(k):
        ident = first + k
        try:
            # One proxy pair per thread: each proxy has its own connection per thread anyway.
            counters = m.get_counters()
            log = m.get_log()
            n = 0
            while time.time() < deadline:
                log.append([ident, n])
                counters[str(ident)] = n + 1
                n += 1
            done[k] = n
        except Exception as e:
            errors.append('client %d: %r' % (ident, e))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(count):
        out('OPS %d %d' % (first + k, done[k]))
    for e in errors:
        out('FAIL %s' % e)
    out('DONE')


COUNTERS = {}
LOG = []


def manager_server(authkey):
    LoadManager.register('get_counters', callable=lambda: COUNTERS, proxytype=DictProxy)
    LoadManager.register('get_log', callable=lambda: LOG, proxytype=ListProxy)
    m = LoadManager(address=('127.0.0.1', 0), authkey=authkey)
    srv = m.get_server()
    out('READY %d' % srv.address[1])
    srv.serve_forever()


def sink(host, port, authkey):
    c = connection.Client((host, port), authkey=authkey)
    out('CONNECTED')
    if sys.stdin.readline().strip() != 'GO':
        out('FAIL no GO')
        return
    frames = total = firsts = 0
    buf = bytearray(1 << 20)
    while True:
        try:
            n = c.recv_bytes_into(buf)
        except EOFError:
            break
        except connection.BufferTooShort as e:
            data = e.args[0]
            n = len(data)
            buf = bytearray(data)
        frames += 1
        total += n
        firsts += buf[0] if n else 0
    out('OK %d %d %d' % (frames, total, firsts))


def source(host, port, authkey, frames, size):
    c = connection.Client((host, port), authkey=authkey)
    block = bytearray(size)
    for k in range(frames):
        if size:
            block[0] = k % 256
        c.send_bytes(block)
    back = c.recv_bytes()
    out('OK %d' % len(back))


def main():
    mode = sys.argv[1]
    if mode == 'clients':
        host, port, key, first, count, messages, pad = sys.argv[2:9]
        clients(host, int(port), key.encode(), int(first), int(count), int(messages), int(pad))
    elif mode == 'manager-clients':
        host, port, key, first, count, seconds = sys.argv[2:8]
        manager_clients(host, int(port), key.encode(), int(first), int(count), float(seconds))
    elif mode == 'manager-server':
        manager_server(sys.argv[2].encode())
    elif mode == 'sink':
        sink(sys.argv[2], int(sys.argv[3]), sys.argv[4].encode())
    elif mode == 'source':
        source(sys.argv[2], int(sys.argv[3]), sys.argv[4].encode(), int(sys.argv[5]), int(sys.argv[6]))
    else:
        raise SystemExit('unknown mode ' + mode)


if __name__ == '__main__':
    main()
