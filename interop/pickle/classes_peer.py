"""Enum members and namedtuples for mpwire's declared-class interop test (stdlib only, 3.6+).

  classes_peer.py emit    -> one line per protocol: "<proto> <hex of pickle.dumps(SAMPLE, proto)>"
  classes_peer.py check   <- the same lines on stdin (written by mpwire); prints "OK <proto>" when
                             the pickle loads to a value equal to SAMPLE, with the same types and the
                             enum members identical to the class's own, and "SAME <proto>" when the
                             bytes are those CPython writes.
"""
import collections
import enum
import pickle
import sys


class Color(enum.Enum):
    RED = 1
    GREEN = 'green'


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


Point = collections.namedtuple('Point', 'x y')
SAMPLE = [Color.RED, Color.GREEN, Level.HIGH, Point(1, 'a'), Point(Color.RED, [Point(0, -1.5)]), Color.RED]


def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, enum.Enum):
        return a is b
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def main():
    if sys.argv[1] == 'emit':
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            print('%d %s' % (proto, pickle.dumps(SAMPLE, proto).hex()))
    else:
        for line in sys.stdin.read().split('\n'):
            if not line.strip():
                continue
            proto, data = line.split(' ')
            raw = bytes.fromhex(data)
            value = pickle.loads(raw)
            print(('OK ' if same(value, SAMPLE) else 'MISMATCH %r ' % (value,)) + proto)
            theirs = pickle.dumps(SAMPLE, int(proto))
            if raw == theirs:
                print('SAME ' + proto)
            elif b'getattr' in theirs:
                print('BYNAME ' + proto)  # this release pickles enum members by name
    sys.stdout.flush()


if __name__ == '__main__':
    main()
