# Runs interop/peers/peer.py inside a container whose TCP Listener must be reachable through a
# published port: the loopback listener that peer.py opens (('127.0.0.1', 0)) becomes
# ('0.0.0.0', $MPWIRE_PEER_PORT), the port the container exposes. Everything else is peer.py's.
#
#   container_peer.py PEER_SCRIPT ARGS...
#
# First of all it prints "MPWIRE_PEER_PID <pid>" on stderr: killing `docker exec` leaves the process
# inside running (and its Listener on the fixed port), so the suite kills it by this pid.
import os
import runpy
import sys

from multiprocessing import connection

sys.stderr.write('MPWIRE_PEER_PID %d\n' % os.getpid())
sys.stderr.flush()

_Listener = connection.Listener
_port = int(os.environ.get('MPWIRE_PEER_PORT', '0'))


def Listener(address=None, *args, **kwargs):
    if address == ('127.0.0.1', 0) and _port:
        address = ('0.0.0.0', _port)
    return _Listener(address, *args, **kwargs)


connection.Listener = Listener
script = sys.argv[1]
sys.argv = [script] + sys.argv[2:]
runpy.run_path(script, run_name='__main__')
