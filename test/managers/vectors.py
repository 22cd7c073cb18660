# Golden vectors of test/managers/protocol.test.ts, made by CPython's own pickler.
#   python3.12 test/managers/vectors.py   (prints a JSON object: name -> hex)
# Request tuples are the exact bytes of the §5.9 transcript (PROTOCOL.md); the rest are replies as
# a 3.12 manager server sends them (Connection.send = ForkingPickler.dumps, protocol 4).
import json
import queue
import sys
from multiprocessing.managers import Token, RebuildProxy, AutoProxy, DictProxy
from multiprocessing.reduction import ForkingPickler


class CustomError(Exception):
    def __init__(self, message, code):
        Exception.__init__(self, message)
        self.code = code




def dumps(obj, protocol=4):
    return bytes(ForkingPickler.dumps(obj, protocol)).hex()


tok = Token('dict', ('127.0.0.1', 50000), '7f0a1b2c3d40')
it = Token('Iterator', ('127.0.0.1', 50000), '7f0a1b2c3e00')
out = {
    'dummy': dumps((None, 'dummy', (), {})),
    'create_dict': dumps((None, 'create', ('dict',), {})),
    'incref': dumps((None, 'incref', ('7fba5eed80c0',), {})),
    'accept_connection': dumps((None, 'accept_connection', ('MainProcess',), {})),
    'setitem': dumps(('7fba5eed80c0', '__setitem__', ('k', 'v'), {})),
    'shutdown': dumps((None, 'shutdown', (), {})),
    'get_timeout_kw': dumps(('7fba5eed80c0', 'get', (), {'timeout': 1})),
    'token': dumps(tok),
    'token_p2': dumps(tok, 2),
    'return_none': dumps(('#RETURN', None)),
    'create_reply': dumps(('#RETURN', ('7fba5eed80c0', ('__contains__', '__getitem__')))),
    'proxy_reply': dumps(('#PROXY', (('__next__', 'send', 'throw', 'close'), it))),
    'error_keyerror': dumps(('#ERROR', KeyError('zz'))),
    'error_empty': dumps(('#ERROR', queue.Empty())),
    'error_custom': dumps(('#ERROR', CustomError('boom', 7))),
    'traceback': dumps(('#TRACEBACK', 'Traceback (most recent call last):\n  File "x", line 1\nKeyError: \'nope\'\n')),
    'keys_list': dumps(('#RETURN', {'a': 1, 'b': 2}.keys())),
}
# A pickled proxy inside a value, as a server sends it (RebuildProxy(DictProxy, token, 'pickle', {})).
class FakeProxy(object):
    def __reduce__(self):
        return (RebuildProxy, (DictProxy, tok, 'pickle', {}))
out['rebuild_proxy'] = dumps(('#RETURN', [1, FakeProxy()]))
json.dump(out, sys.stdout, indent=1, sort_keys=True)
print()
