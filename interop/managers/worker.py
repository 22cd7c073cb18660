# A Python client process of the managers sharing test and the demo (stdlib only, 2.7 and 3.6+).
#
#   python worker.py PORT AUTHKEY WHO N_PRODUCE
#
# Connects to server.py's manager, puts N_PRODUCE unique items ("WHO-i") on the shared queue,
# prints "PRODUCED", then takes items until it gets None, recording each in the shared dict as
# d[item] = WHO; finally sets d["count:WHO"] and prints "DONE <count>".
from __future__ import print_function

import sys
from multiprocessing.managers import BaseManager, DictProxy


class Client(BaseManager):
    pass


Client.register('get_queue')
Client.register('get_dict', proxytype=DictProxy)


def main():
    port, authkey, who, n = int(sys.argv[1]), sys.argv[2].encode('utf-8'), sys.argv[3], int(sys.argv[4])
    m = Client(address=('127.0.0.1', port), authkey=authkey)
    m.connect()
    q = m.get_queue()
    d = m.get_dict()
    for i in range(n):
        q.put('%s-%d' % (who, i))
    print('PRODUCED')
    sys.stdout.flush()
    count = 0
    while True:
        item = q.get()
        if item is None:
            break
        d[item] = who
        count += 1
    d['count:' + who] = count
    print('DONE %d' % count)
    sys.stdout.flush()


if __name__ == '__main__':
    main()
