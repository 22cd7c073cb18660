# Fault-injection peer of mpwire's hardening suite (stdlib only, CPython 3.6+).
#
# The peer speaks the protocol up to a named stage, prints "STAGE <name>" and then sleeps, so that
# the test can SIGKILL it at exactly that point (or watch how the other side cuts it off).
#
#   fault_peer.py client HOST PORT AUTHKEY STAGE   a client of a TS Listener
#       handshake            read the server's challenge, never answer
#       header               authenticate, then write 2 of the 4 bytes of a frame header
#       payload              authenticate, then write a header announcing 1000 bytes and 100 of them
#       silent               connect and never send a byte
#       slow                 read the challenge, then send the (correct) answer frame one byte a
#                            second; prints "CUT <bytes sent>" when the server closes first,
#                            "SENT <bytes>" if it could send everything
#       halfclose-handshake  read the challenge, shut down the sending side, print "CLOSED" once
#                            the server has closed the connection
#       halfclose            authenticate, send 3 pickled messages, shut down the sending side,
#                            then receive one reply and print "REPLY <repr>"
#   fault_peer.py server AUTHKEY STAGE             a Listener for a TS connect(); prints "READY <port>"
#       handshake            send the challenge, read the answer, never send WELCOME
#       silent               accept and never send a byte
#       slow                 send the challenge frame one byte a second ("CUT n" / "SENT n")
#       header, payload      authenticate (both rounds), then write a partial frame as above
#   fault_peer.py manager AUTHKEY                  a BaseManager server; prints "READY <port>"
#       typeids: Sleeper (method hang() prints "STAGE call" and sleeps), slow (its callable prints
#       "STAGE create" and sleeps), dict
#   fault_peer.py mclient HOST PORT AUTHKEY STAGE  a BaseManager client of a TS manager server
#       call                 m.get_hang().hang(): a call the TS side never answers
#       create               m.get_slow(): a create the TS side never finishes
#       ok                   m.get_dict(): d['k'] = 1; d['k'] -> prints "OK 1"
import os
import select
import socket
import struct
import sys
import time

from multiprocessing import connection
from multiprocessing.managers import BaseManager, DictProxy

SLEEP = 600


def out(line):
    sys.stdout.write(line + '\n')
    sys.stdout.flush()


def frame(payload):
    return struct.pack('!i', len(payload)) + payload


def wrap(sock):
    # A Connection over a duplicate of the socket's fd: the handshake uses the stdlib functions,
    # partial frames go out on the raw socket.
    return connection.Connection(os.dup(sock.fileno()))


def stage(name):
    out('STAGE ' + name)
    time.sleep(SLEEP)


def partial_frame(sock, which):
    if which == 'header':
        sock.sendall(struct.pack('!i', 1000)[:2])
    else:
        sock.sendall(struct.pack('!i', 1000) + b'x' * 100)


def trickle(sock, data):
    """Send data one byte a second; stop as soon as the other side closes."""
    sent = 0
    for i in range(len(data)):
        try:
            sock.sendall(data[i:i + 1])
        except (OSError, IOError):
            out('CUT %d' % sent)
            return
        sent += 1
        r, _, _ = select.select([sock], [], [], 1.0)
        if r:
            try:
                chunk = sock.recv(4096)
            except (OSError, IOError):
                chunk = b''
            if not chunk:
                out('CUT %d' % sent)
                return
    out('SENT %d' % sent)
    time.sleep(SLEEP)


def challenge_answer(conn, authkey):
    # What answer_challenge would send, without sending it.
    import hmac
    message = conn.recv_bytes(256)
    assert message.startswith(b'#CHALLENGE#'), message
    payload = message[len(b'#CHALLENGE#'):]
    if payload.startswith(b'{'):
        close = payload.index(b'}')
        name = payload[1:close].decode('ascii')
        return b'{' + name.encode('ascii') + b'}' + hmac.new(authkey, payload, name).digest()
    return hmac.new(authkey, payload, 'md5').digest()


def client(host, port, authkey, which):
    sock = socket.create_connection((host, port))
    if which == 'silent':
        stage('silent')
    conn = wrap(sock)
    if which == 'handshake':
        conn.recv_bytes(256)
        stage('handshake')
    if which == 'slow':
        trickle(sock, frame(challenge_answer(conn, authkey)))
        return
    if which == 'halfclose-handshake':
        conn.recv_bytes(256)
        sock.shutdown(socket.SHUT_WR)
        out('STAGE halfclose-handshake')
        while True:
            try:
                if not sock.recv(4096):
                    break
            except (OSError, IOError):
                break
        out('CLOSED')
        return
    connection.answer_challenge(conn, authkey)
    connection.deliver_challenge(conn, authkey)
    if which in ('header', 'payload'):
        partial_frame(sock, which)
        stage(which)
    if which == 'halfclose':
        for i in range(3):
            conn.send({'seq': i})
        sock.shutdown(socket.SHUT_WR)
        out('STAGE halfclose')
        out('REPLY %r' % (conn.recv(),))
        return
    raise SystemExit('unknown client stage ' + which)


def server(authkey, which):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(4)
    out('READY %d' % lsock.getsockname()[1])
    sock, _ = lsock.accept()
    if which == 'silent':
        stage('silent')
    conn = wrap(sock)
    if which == 'slow':
        trickle(sock, frame(b'#CHALLENGE#' + os.urandom(20)))
        return
    if which == 'handshake':
        conn.send_bytes(b'#CHALLENGE#' + os.urandom(20))
        conn.recv_bytes(256)
        stage('handshake')
    connection.deliver_challenge(conn, authkey)
    connection.answer_challenge(conn, authkey)
    if which in ('header', 'payload'):
        partial_frame(sock, which)
        stage(which)
    raise SystemExit('unknown server stage ' + which)


class Sleeper(object):
    def hang(self):
        out('STAGE call')
        time.sleep(SLEEP)

    def ping(self):
        return 'pong'


def slow():
    out('STAGE create')
    time.sleep(SLEEP)


class FaultManager(BaseManager):
    pass


def manager(authkey):
    FaultManager.register('Sleeper', Sleeper)
    FaultManager.register('slow', slow)
    FaultManager.register('dict', dict, DictProxy)
    m = FaultManager(address=('127.0.0.1', 0), authkey=authkey)
    srv = m.get_server()
    out('READY %d' % srv.address[1])
    srv.serve_forever()


class ClientManager(BaseManager):
    pass


def mclient(host, port, authkey, which):
    ClientManager.register('get_hang')
    ClientManager.register('get_slow')
    ClientManager.register('get_dict', proxytype=DictProxy)
    m = ClientManager(address=(host, port), authkey=authkey)
    m.connect()
    if which == 'call':
        h = m.get_hang()
        out('CALLING')
        h.hang()
    elif which == 'create':
        out('CREATING')
        m.get_slow()
    elif which == 'ok':
        d = m.get_dict()
        d['k'] = 1
        out('OK %r' % (d['k'],))
        return
    raise SystemExit('stage %s returned' % which)


def main():
    mode = sys.argv[1]
    if mode == 'client':
        client(sys.argv[2], int(sys.argv[3]), sys.argv[4].encode('utf-8'), sys.argv[5])
    elif mode == 'server':
        server(sys.argv[2].encode('utf-8'), sys.argv[3])
    elif mode == 'manager':
        manager(sys.argv[2].encode('utf-8'))
    elif mode == 'mclient':
        mclient(sys.argv[2], int(sys.argv[3]), sys.argv[4].encode('utf-8'), sys.argv[5])
    else:
        raise SystemExit('unknown mode ' + mode)


if __name__ == '__main__':
    main()
