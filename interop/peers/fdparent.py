# Parent end: makes a socketpair, starts `node CHILD_SCRIPT` with one end inherited (its number in
# MPWIRE_FD), sends frames through the stdlib Connection and checks the child's replies (each frame
# reversed). Prints "OK exchanged N". Runs on 2.7 and 3.6+.
import os
import socket
import subprocess
import sys
try:
    from multiprocessing.connection import Connection
except ImportError:  # Python 2.7 keeps the fd-based Connection in the C module
    from _multiprocessing import Connection

node, child_script = sys.argv[1], sys.argv[2]
parent_sock, child_sock = socket.socketpair()
fd = child_sock.fileno()
env = dict(os.environ, MPWIRE_FD=str(fd))
if sys.version_info[0] >= 3:
    os.set_inheritable(fd, True)
    proc = subprocess.Popen([node, child_script], env=env, pass_fds=[fd])
else:
    # Python 2 has no pass_fds: let everything be inherited except our own end, which the child
    # must not hold (it would never see EOF)
    import fcntl
    flags = fcntl.fcntl(parent_sock.fileno(), fcntl.F_GETFD)
    fcntl.fcntl(parent_sock.fileno(), fcntl.F_SETFD, flags | fcntl.FD_CLOEXEC)
    proc = subprocess.Popen([node, child_script], env=env, close_fds=False)
child_sock.close()
conn = Connection(os.dup(parent_sock.fileno()))
parent_sock.close()
payloads = [b'', b'x', b'hello from python', bytes(bytearray(range(256))) * 300]
for p in payloads:
    conn.send_bytes(p)
    back = conn.recv_bytes()
    if back != p[::-1]:
        sys.stdout.write('MISMATCH %d\n' % len(p))
        sys.exit(1)
conn.close()
code = proc.wait()
sys.stdout.write('OK exchanged %d child-exit %d\n' % (len(payloads), code))
