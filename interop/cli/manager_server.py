# A BaseManager server with a registered dict. argv: KEY. Prints "ADDRESS host port".
import sys
from multiprocessing.managers import BaseManager

store = {}


def get_store():
    return store


class M(BaseManager):
    pass


M.register('get_store', callable=get_store)
m = M(address=('127.0.0.1', 0), authkey=sys.argv[1].encode('utf-8'))
server = m.get_server()
sys.stdout.write('ADDRESS %s %d\n' % server.address)
sys.stdout.flush()
server.serve_forever()
