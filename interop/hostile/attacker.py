"""A hostile Python peer for interop/hostile/hostile.test.ts (stdlib only, Python 3.6+).

usage: attacker.py MODE HOST PORT AUTHKEY MARKER

Every pickle it sends would run `touch MARKER` if *Python* unpickled it. This script never
unpickles anything it did not check first: replies that may carry the hostile value are read as
raw bytes and inspected with pickletools (which parses without executing).
"""
import os
import pickletools
import socket
import struct
import sys
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client

MODE, HOST, PORT, AUTHKEY, MARKER = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].encode(), sys.argv[5]


class Exploit:
    def __reduce__(self):
        return (os.system, ('touch ' + MARKER,))


def globals_in(data):
    found, strings = [], []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ('GLOBAL', 'INST'):
            found.append(arg.replace(' ', '.'))
        elif op.name == 'STACK_GLOBAL':
            found.append('%s.%s' % (strings[-2], strings[-1]))
        if isinstance(arg, str):
            strings.append(arg)
    return found


def frames(sock):
    buf = b''
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    out = []
    while len(buf) >= 4:
        (n,) = struct.unpack('!i', buf[:4])
        out.append(buf[4:4 + n])
        buf = buf[4 + n:]
    return out


if MODE == 'wrong-key':
    try:
        Client((HOST, PORT), authkey=b'not-' + AUTHKEY)
        print('ACCEPTED')
    except AuthenticationError as e:
        print('REFUSED AuthenticationError')
elif MODE == 'pickle-before-auth':
    s = socket.create_connection((HOST, PORT))
    payload = __import__('pickle').dumps(Exploit(), 2)
    s.sendall(struct.pack('!i', len(payload)) + payload)
    got = frames(s)
    print('FRAMES %d' % len(got))
    print('CHALLENGE %s' % got[0].startswith(b'#CHALLENGE#'))
    print('FAILURE %s' % (len(got) > 1 and got[1] == b'#FAILURE#'))
elif MODE == 'listener-exploit':
    c = Client((HOST, PORT), authkey=AUTHKEY)
    c.send(Exploit())
    c.send({'__proto__': {'polluted': 'yes'}, 'constructor': {'prototype': {'polluted': 'yes'}}})
    print('REPLY %s' % c.recv())  # the Node side answers with a plain str
    c.close()
elif MODE == 'manager-exploit':
    c0 = Client((HOST, PORT), authkey=AUTHKEY)
    c0.send((None, 'create', ('dict',), {}))
    kind, (ident, exposed) = c0.recv()
    c0.close()
    c = Client((HOST, PORT), authkey=AUTHKEY)
    c.send((None, 'accept_connection', ('Attacker',), {}))
    print('CHANNEL %s' % (c.recv()[0],))
    c.send((ident, '__setitem__', ('k', Exploit()), {}))
    print('SET %s' % (c.recv()[0],))
    c.send((ident, '__setitem__', ('__proto__', {'polluted': 'yes'}), {}))
    print('SETPROTO %s' % (c.recv()[0],))
    c.send((ident, '__getitem__', ('k',), {}))
    raw = c.recv_bytes()  # never unpickled here: it is the hostile value, echoed back
    print('ECHOED %s' % ' '.join(globals_in(raw)))
    c.close()
else:
    raise SystemExit('unknown mode ' + MODE)
print('MARKER %s' % os.path.exists(MARKER))
