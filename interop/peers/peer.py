# Stdlib-only peer for the mpwire interop suite. Runs on CPython 2.7 and 3.6+.
#
#   peer.py server FAMILY AUTHKEY [PATH_JSON] [--rhel] [--loop]
#                                                    listen, print "READY <json address>", accept one
#                                                    connection and echo frames until EOF (--loop: keep
#                                                    accepting after a failed handshake)
#   peer.py client ADDRESS_JSON AUTHKEY SIZES [--rhel]
#                                                    connect, send a patterned payload of each size,
#                                                    check the echo byte for byte
#
# AUTHKEY "-" means no authentication. Results are printed as one line each:
#   OK ..., AUTHERROR <message>, MISMATCH <size>, ERROR <repr>
import hashlib
import hmac
import json
import os
import sys
import traceback

from multiprocessing import connection


def pattern(n):
    # byte i of an n-byte payload is (i*31 + n) mod 256; the sequence repeats every 256 bytes
    block = bytearray(((i * 31 + n) & 0xFF) for i in range(256))
    reps = n // 256 + 1
    return bytes((block * reps)[:n])


def use_rhel_dialect():
    # Emulate Red Hat's patch 00169: raw HMAC-SHA256 answers to bare 20-byte challenges.
    challenge, welcome, failure = b'#CHALLENGE#', b'#WELCOME#', b'#FAILURE#'

    def digest(key, msg):
        return hmac.new(key, msg, hashlib.sha256).digest()

    def deliver_challenge(conn, authkey):
        nonce = os.urandom(20)
        conn.send_bytes(challenge + nonce)
        answer = conn.recv_bytes(256)
        if hmac.compare_digest(answer, digest(authkey, nonce)):
            conn.send_bytes(welcome)
        else:
            conn.send_bytes(failure)
            raise connection.AuthenticationError('digest received was wrong')

    def answer_challenge(conn, authkey):
        message = conn.recv_bytes(256)
        if not message.startswith(challenge):
            raise connection.AuthenticationError('expected challenge')
        conn.send_bytes(digest(authkey, message[len(challenge):]))
        if conn.recv_bytes(256) != welcome:
            raise connection.AuthenticationError('digest sent was rejected')

    connection.deliver_challenge = deliver_challenge
    connection.answer_challenge = answer_challenge


def sample_objects():
    big = 2 ** 100
    return [
        None, True, 0, -1, 255, 65536, 2 ** 31 - 1, -2 ** 31, 2 ** 63, -big, 1.5, -0.0, float('inf'),
        u'', u'text', u'caf\xe9 \u20ac \U0001f600', b'', b'\x00\xffbytes', bytearray(b'ba'),
        (), (1, u'two', (3.0,)), [1, [2, [3]]], {u'k': u'v', u'n': [1, 2]}, {1: u'int key', (1, 2): u'tuple key'},
        set([1, 2, 3]), frozenset([u'a']), {u'nested': {u'list': [None, {u'x': b'y'}]}},
        [u'x' * 70000],
    ]


def to_address(obj):
    return tuple(obj) if isinstance(obj, list) else str(obj)


def out(line):
    sys.stdout.write(line + '\n')
    sys.stdout.flush()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    flags = [a for a in sys.argv[1:] if a.startswith('--')]
    if '--rhel' in flags:
        use_rhel_dialect()
    mode = args[0]
    try:
        if mode in ('server', 'server6'):
            family, key = args[1], args[2]
            authkey = None if key == '-' else key.encode('utf-8')
            if family == 'AF_INET':
                listener = connection.Listener(('127.0.0.1', 0), authkey=authkey)
            elif family == 'AF_INET6':
                listener = connection.Listener(('::1', 0), family='AF_INET6', authkey=authkey)
            else:
                listener = connection.Listener(str(json.loads(args[3])), family='AF_UNIX', authkey=authkey)
            address = listener.address
            if isinstance(address, bytes):
                address = address.decode('latin-1')
            out('READY ' + json.dumps(address))
            while True:
                try:
                    conn = listener.accept()
                    break
                except connection.AuthenticationError as e:
                    # a plain Listener raises here; with --loop keep serving, like a server loop that survives bad clients
                    if '--loop' not in flags:
                        raise
                    out('AUTHERROR %s' % (e,))
            count = 0
            while True:
                try:
                    data = conn.recv_bytes()
                except EOFError:
                    break
                if mode == 'server' and data != pattern(len(data)):
                    out('MISMATCH %d' % len(data))
                conn.send_bytes(data)
                count += 1
            try:
                listener.close()
            except (TypeError, ValueError) as e:
                # 2.7 and 3.6 fail to close a Listener on an abstract address (PROTOCOL.md section 2)
                sys.stderr.write('listener.close() failed: %r\n' % (e,))
            out('OK echoed %d' % count)
        elif mode == 'client':
            address = to_address(json.loads(args[1]))
            key = args[2]
            authkey = None if key == '-' else key.encode('utf-8')
            sizes = [int(s) for s in args[3].split(',') if s]
            conn = connection.Client(address, authkey=authkey)
            for n in sizes:
                data = pattern(n)
                conn.send_bytes(data)
                back = conn.recv_bytes()
                if back != data:
                    out('MISMATCH %d got %d' % (n, len(back)))
                    sys.exit(1)
            conn.close()
            out('OK sent %d' % len(sizes))
        elif mode == 'objects':
            # send Python objects with Connection.send (the interpreter's default pickle protocol),
            # expect each one back unchanged (type included) from the TS echo
            address = to_address(json.loads(args[1]))
            key = args[2]
            conn = connection.Client(address, authkey=None if key == '-' else key.encode('utf-8'))
            for obj in sample_objects():
                conn.send(obj)
                back = conn.recv()
                if back != obj or type(back) is not type(obj):
                    out('MISMATCH %r got %r' % (obj, back))
                    sys.exit(1)
            conn.send(u'bye')
            conn.close()
            out('OK objects %d' % len(sample_objects()))
        else:
            raise SystemExit('unknown mode ' + mode)
    except connection.AuthenticationError as e:
        out('AUTHERROR %s' % (e,))
        sys.exit(3)
    except Exception as e:
        out('ERROR %r' % (e,))
        traceback.print_exc()
        sys.exit(2)


if __name__ == '__main__':
    main()
