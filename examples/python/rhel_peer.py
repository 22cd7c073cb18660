# The Python side of examples/rhel-dialect.mjs: a stock Client or Listener with the handshake of
# RHEL/Fedora builds (raw HMAC-SHA256 answers to a bare challenge, Red Hat patch 00169), emulated
# on any CPython by replacing the two handshake functions. On a real RHEL Python, drop
# use_rhel_dialect(). Standard library only.
#   python rhel_peer.py client PORT AUTHKEY      connect, send one message
#   python rhel_peer.py listener AUTHKEY         print "READY <port>", echo messages forever
from __future__ import print_function

import hashlib
import hmac
import os
import sys
from multiprocessing import connection

CHALLENGE, WELCOME, FAILURE = b'#CHALLENGE#', b'#WELCOME#', b'#FAILURE#'


def use_rhel_dialect():
    def deliver_challenge(conn, authkey):
        nonce = os.urandom(20)
        conn.send_bytes(CHALLENGE + nonce)
        answer = conn.recv_bytes(256)
        if hmac.compare_digest(answer, hmac.new(authkey, nonce, hashlib.sha256).digest()):
            conn.send_bytes(WELCOME)
        else:
            conn.send_bytes(FAILURE)
            raise connection.AuthenticationError('digest received was wrong')

    def answer_challenge(conn, authkey):
        message = conn.recv_bytes(256)
        assert message.startswith(CHALLENGE)
        conn.send_bytes(hmac.new(authkey, message[len(CHALLENGE):], hashlib.sha256).digest())
        if conn.recv_bytes(256) != WELCOME:
            raise connection.AuthenticationError('digest sent was rejected')

    connection.deliver_challenge = deliver_challenge
    connection.answer_challenge = answer_challenge


use_rhel_dialect()
if sys.argv[1] == 'client':
    c = connection.Client(('127.0.0.1', int(sys.argv[2])), authkey=sys.argv[3].encode('utf-8'))
    c.send('hello from a RHEL-style Python %d.%d' % sys.version_info[:2])
    c.close()
else:
    listener = connection.Listener(('127.0.0.1', 0), authkey=sys.argv[2].encode('utf-8'))
    print('READY %d' % listener.address[1])
    sys.stdout.flush()
    while True:
        try:
            c = listener.accept()
        except connection.AuthenticationError:
            continue  # a client answered in another dialect (mpwire's 'auto' then retries)
        try:
            c.send('echo: ' + c.recv())
        except EOFError:
            pass
        c.close()
