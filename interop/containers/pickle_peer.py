# Pickle round trips for the container interop suite. Stdlib only; runs on CPython 2.7 and 3.6+.
#
#   pickle_peer.py client ADDRESS_JSON AUTHKEY          connect to the TS Listener
#   pickle_peer.py server AUTHKEY                       listen on ('127.0.0.1', 0) (container_peer.py
#                                                       rebinds it), print "READY <json address>"
#
# Python sends every sample with conn.send() (pickle at this version's default protocol); the TS
# side decodes it with pickleCodec({ exact: true }) and sends it back; Python checks that what came
# back is == and of the same type, recursively. After the sentinel u'__end__' the TS side sends one
# value of its own, which must equal FROM_TS. Results: "OK roundtrip N", "MISMATCH <i> <repr>", "ERROR <repr>".
import json
import sys
import traceback

from multiprocessing import connection

PY2 = sys.version_info[0] == 2
if PY2:
    integer_types = (int, long)  # noqa: F821
    text_type = unicode  # noqa: F821
else:
    integer_types = (int,)
    text_type = str

SAMPLES = [
    None, True, False, 0, 1, -1, 255, 65535, 2 ** 31, -2 ** 31 - 1, 2 ** 63, -2 ** 63, 2 ** 100, -(2 ** 100),
    1.5, -0.0, 1e300, float('inf'), float('-inf'), 1.0,
    u'', u'ascii', u'h\xe9llo \u2603 \U0001F600', u'x' * 70000,
    b'', b'\x00\xff' * 100, b'y' * 70000, bytearray(b'ab\x00'),
    [], [1, [2, [3, [4]]]], (), (1,), (1, u'a', None, (2, 3)),
    {}, {u'a': 1, u'b': [1, 2]}, {1: u'x', (1, 2): u'y', None: 0.5},
    set([1, 2, 3]), frozenset([u'a', u'b']), set(),
    list(range(1000)), dict((u'k%d' % i, i) for i in range(300)),
]

FROM_TS = {u'text': u'h\xe9llo \u2603', u'big': 2 ** 70, u'f': 1.5, u'list': [1, u'two', None, True],
           u'bytes': b'\x00\x01\xff', u'tuple': (1, 2)}


def kind(v):
    if isinstance(v, bool):
        return bool
    if isinstance(v, integer_types):
        return int
    return type(v)


def same(a, b):
    if kind(a) is not kind(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(k in b and same(v, b[k]) for k, v in a.items())
    return a == b


def out(line):
    sys.stdout.write(line + '\n')
    sys.stdout.flush()


def converse(conn):
    for i, obj in enumerate(SAMPLES):
        conn.send(obj)
        back = conn.recv()
        if not same(obj, back):
            out('MISMATCH %d %r -> %r' % (i, obj if len(repr(obj)) < 200 else type(obj), back if len(repr(back)) < 200 else type(back)))
            sys.exit(1)
    conn.send(u'__end__')
    got = conn.recv()
    if not same(FROM_TS, got):
        out('MISMATCH from-ts %r' % (got,))
        sys.exit(1)
    conn.close()
    out('OK roundtrip %d' % len(SAMPLES))


def main():
    mode = sys.argv[1]
    try:
        if mode == 'client':
            address = json.loads(sys.argv[2])
            address = tuple(address) if isinstance(address, list) else str(address)
            key = sys.argv[3]
            converse(connection.Client(address, authkey=None if key == '-' else key.encode('utf-8')))
        elif mode == 'server':
            key = sys.argv[2]
            listener = connection.Listener(('127.0.0.1', 0), authkey=None if key == '-' else key.encode('utf-8'))
            out('READY ' + json.dumps(listener.address))
            converse(listener.accept())
            listener.close()
        else:
            raise SystemExit('unknown mode ' + mode)
    except SystemExit:
        raise
    except Exception as e:
        out('ERROR %r' % (e,))
        traceback.print_exc()
        sys.exit(2)


if __name__ == '__main__':
    main()
