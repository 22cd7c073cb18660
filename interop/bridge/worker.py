# Bridge worker used by interop/bridge: request/response handlers on every Python 2.7 / 3.6+.
import os
import sys
import time
import pickle

import mpwire_child


class Custom(Exception):
    pass


def echo(x):
    return x


def add(a, b):
    return a + b


def boom(msg):
    raise ValueError(msg, 42)


def custom():
    raise Custom('mine')


def crash(code):
    sys.stderr.write('worker: about to die\nfatal: giving up with %d\n' % code)
    sys.stderr.flush()
    os._exit(code)


def sleep(seconds):
    time.sleep(seconds)
    return seconds


def info():
    return {'version': '%d.%d.%d' % sys.version_info[:3], 'highest': pickle.HIGHEST_PROTOCOL, 'pid': os.getpid()}


def ask_node(name, *args):
    """Call a Node handler; a Node exception comes back as a Python one."""
    try:
        return ['ok', mpwire_child.call(name, *args)]
    except Exception as e:
        return ['raised', type(e).__name__, str(e)]


def kw(a, b=0, c=0):
    return [a, b, c]


mpwire_child.serve({'echo': echo, 'add': add, 'boom': boom, 'custom': custom, 'crash': crash, 'sleep': sleep,
                    'info': info, 'ask_node': ask_node, 'kw': kw})
sys.stdout.write('worker done\n')
