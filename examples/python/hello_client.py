# A stock Python client: connects to the Node listener with the authkey, sends a greeting, prints
# the reply. Standard library only; works on Python 2.7 and 3.6+.
import sys
import platform
from multiprocessing.connection import Client

address = (sys.argv[1], int(sys.argv[2]))
conn = Client(address, authkey=sys.argv[3].encode('utf-8'))
conn.send_bytes(('hello from Python %s' % platform.python_version()).encode('utf-8'))
reply = conn.recv_bytes()
sys.stdout.write('python %s got: %s\n' % (platform.python_version(), reply.decode('utf-8')))
conn.close()
