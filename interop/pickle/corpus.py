# -*- coding: utf-8 -*-
"""Golden pickle corpus for mpwire's pickle codec (stdlib only; Python 2.7 and 3.6+).

Modes (one JSON document per line on stdin/stdout):
  gen                 -> every corpus value at every protocol this interpreter supports:
                         {"name", "proto", "hex", "desc", "stable"}
  check               <- {"name", "proto", "hex"} (a pickle written by mpwire of corpus value
                         "name"); -> {"name", "proto", "ok", "why"}: loads it and compares it
                         with the original value by ==, type() and structure, recursively.
  redump              <- {"id", "hex", "proto"}; -> {"id", "hex", "desc"}: pickle.loads then
                         pickle.dumps(protocol=proto), plus a structural description.
"""
from __future__ import print_function

import collections
import datetime
import decimal
import fractions
import json
import math
import pickle
import struct
import sys
import uuid

PY2 = sys.version_info[0] == 2
if PY2:
    text_type = unicode  # noqa: F821
    int_types = (int, long)  # noqa: F821
    binary_type = str
else:
    text_type = str
    int_types = (int,)
    binary_type = bytes


class Old:  # an old-style class on Python 2
    pass


class Slotted(object):
    __slots__ = ('a', 'b')

    def __init__(self, a=None, b=None):
        self.a = a
        self.b = b


class WithDict(object):
    def __init__(self, **kw):
        self.__dict__.update(kw)


class ListSub(list):
    pass


class DictSub(dict):
    pass


class Reduced(object):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __reduce__(self):
        return (Reduced, (self.x, self.y))


Point = collections.namedtuple('Point', 'x y')


class MyError(Exception):
    pass


def build_corpus():
    c = collections.OrderedDict()
    c['none'] = None
    c['true'] = True
    c['false'] = False
    ints = [0, 1, -1, 127, 128, 255, 256, -128, -129, -256, 65535, 65536, -65536, 2 ** 31 - 1, -2 ** 31,
            2 ** 31, -2 ** 31 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 1, -2 ** 53 - 1, 2 ** 63 - 1, 2 ** 63,
            -2 ** 63, -2 ** 63 - 1, 2 ** 64, 2 ** 100, -(2 ** 100), 10 ** 50, -(10 ** 50), 2 ** 2040, -(2 ** 2041)]
    for i, v in enumerate(ints):
        c['int%d' % i] = v
    c['ints'] = ints
    c['bigint_long4'] = 7 ** 5000
    floats = [0.0, -0.0, 1.0, -1.0, 1.5, 0.1, 1e16, 1e-5, 1e300, -1e-300, 5e-324, 2.0 ** 53, 123456789.125,
              float('inf'), float('-inf'), float('nan')]
    for i, v in enumerate(floats):
        c['float%d' % i] = v
    c['floats'] = floats
    strs = [u'', u'a', u'hello', u'\xe9', u'\u65e5\u672c\u8a9e', u'\U0001f600', u'a\nb\\c\r\x00\x1a\'"',
            u'\ufeffbom', u'\\u0041 not an escape', u'x' * 300, u'tab\there']
    if not PY2:
        strs.append(u'lone\ud800surrogate')
        strs.append(u'\udfff')
    for i, v in enumerate(strs):
        c['str%d' % i] = v
    c['strs'] = strs
    c['str_70k'] = u'abc\u20ac' * 18000
    c['str_70k_list'] = [u'%05d' % i * 10 for i in range(2000)]
    c['bytes0'] = b''
    c['bytes1'] = b'\x00'
    c['bytes_mixed'] = b'\x00\xffabc\n\\\'"'
    c['bytes_300'] = b'\x01\x02' * 150
    c['bytes_70k'] = b'\xab' * 70000
    c['bytearray0'] = bytearray()
    c['bytearray'] = bytearray(b'a\xffb')
    c['bytearray_big'] = bytearray(b'\x10' * 70000)
    if PY2:
        c['py2_str'] = 'plain str'
        c['py2_str_latin'] = '\xe9\xff'
        c['py2_unicode'] = u'unicode \xe9'
    c['empty_list'] = []
    c['empty_tuple'] = ()
    c['empty_dict'] = {}
    c['empty_set'] = set()
    c['empty_frozenset'] = frozenset()
    c['tuple1'] = (1,)
    c['tuple2'] = (1, u'two')
    c['tuple3'] = (1, 2.5, None)
    c['tuple4'] = (1, 2, 3, 4)
    c['nested_tuple'] = ((), ((),), (1, (2, (3, (4, (5,))))))
    c['list'] = [1, u'a', 2.5, None, True, [], {}, ()]
    c['list_1001'] = list(range(1001))
    c['list_2500'] = [i * 7 for i in range(2500)]
    c['dict_str'] = {u'a': 1, u'b': [1, 2], u'c': {u'd': None}}
    c['dict_int_keys'] = {1: u'one', 2: u'two', -5: u'minus'}
    c['dict_mixed_keys'] = {1: 1, u'1': 2, (1, 2): 3, 2.5: 4, None: 5, b'k': 6, frozenset([1]): 7}
    c['dict_proto_key'] = {u'__proto__': {u'polluted': True}, u'constructor': 1}
    c['dict_2500'] = dict((u'k%d' % i, i) for i in range(2500))
    c['set'] = set([1, 2, 3, u'x'])
    c['set_1500'] = set(range(1500))
    c['set_2000'] = set(range(2000))
    c['dict_1000'] = dict((i, u'v%d' % i) for i in range(1000))
    c['list_3000'] = [i % 7 for i in range(3000)]
    c['dicts_big'] = [{u'id': i, u'name': u'user%d' % i, u'tags': [u'a', u'b']} for i in range(1500)]
    c['frozenset'] = frozenset([1, u'a', (1, 2)])
    shared = [1, 2]
    c['shared_list'] = [shared, shared, (shared,)]
    st = (u'x', 2)
    c['shared_tuple'] = [st, st, {u'k': st}]
    rec = []
    rec.append(rec)
    c['recursive_list'] = rec
    recd = {}
    recd[u'self'] = recd
    c['recursive_dict'] = recd
    rec2 = [1]
    rec2.append((rec2, 2))
    c['recursive_via_tuple'] = rec2
    c['deep'] = [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]
    c['datetime'] = datetime.datetime(2024, 1, 2, 3, 4, 5, 678901)
    c['datetime_min'] = datetime.datetime(1, 1, 1)
    c['date'] = datetime.date(1999, 12, 31)
    c['time'] = datetime.time(23, 59, 58, 999999)
    c['timedelta'] = datetime.timedelta(days=-1, seconds=5, microseconds=7)
    if not PY2:
        c['datetime_utc'] = datetime.datetime(2024, 5, 6, 7, 8, 9, 10, tzinfo=datetime.timezone.utc)
        c['datetime_ist'] = datetime.datetime(2020, 2, 29, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30), u'IST'))
        c['time_tz'] = datetime.time(1, 2, 3, 4, tzinfo=datetime.timezone(datetime.timedelta(hours=-3)))
        if sys.version_info >= (3, 6):
            c['datetime_fold'] = datetime.datetime(2021, 11, 7, 1, 30, fold=1)
        c['range'] = range(1, 20, 3)
    c['decimal'] = decimal.Decimal('1.10')
    c['decimal_inf'] = decimal.Decimal('-Infinity')
    c['complex'] = complex(1.5, -2)
    c['ordereddict'] = collections.OrderedDict([(1, 2), (u'b', 3)])
    c['defaultdict'] = collections.defaultdict(list, {u'a': [1]})
    c['counter'] = collections.Counter(u'abracadabra')
    c['deque'] = collections.deque([1, 2, 3], maxlen=5)
    c['deque_nomax'] = collections.deque([u'a'])
    c['uuid'] = uuid.UUID('12345678-1234-5678-1234-567812345678')
    c['fraction'] = fractions.Fraction(-1, 3)
    c['keyerror'] = KeyError(u'zz')
    c['valueerror'] = ValueError(u'x', 1)
    c['myerror'] = MyError(u'boom')
    c['slice'] = slice(1, None, 2)
    c['namedtuple'] = Point(1, u'y')
    c['slotted'] = Slotted(1, [2])
    c['withdict'] = WithDict(a=1, b=u'two')
    c['listsub'] = ListSub([1, 2, 3])
    c['dictsub'] = DictSub(a=1)
    c['reduced'] = Reduced(1, (2, 3))
    o = Old()
    o.x = 1
    c['oldstyle'] = o
    c['global_class'] = collections.OrderedDict
    c['global_func'] = len
    c['ellipsis'] = Ellipsis if not PY2 else None
    if sys.version_info >= (3, 4):
        import enum

        c['enum'] = Color.RED
        c['intenum'] = Level.HIGH
    try:
        from multiprocessing.managers import Token
        c['token'] = Token(u'dict' if not PY2 else 'dict', (u'127.0.0.1' if not PY2 else '127.0.0.1', 50000), u'7f0a1b2c3d40' if not PY2 else '7f0a1b2c3d40')
    except Exception:
        pass
    c['mixed_all'] = [c['datetime'], c['decimal'], c['complex'], c['keyerror'], c['uuid'], c['shared_list'], c['set']]
    return c


if sys.version_info >= (3, 4):
    import enum

    class Color(enum.Enum):
        RED = 1
        GREEN = u'g'

    class Level(enum.IntEnum):
        LOW = 1
        HIGH = 2


def fhex(v):
    if v != v:
        return 'nan'
    if v in (float('inf'), float('-inf')):
        return 'inf' if v > 0 else '-inf'
    return struct.pack('>d', v).hex() if not PY2 else struct.pack('>d', v).encode('hex')


def bhex(b):
    b = bytes(b)
    return b.hex() if not PY2 else b.encode('hex')


def describe(v, seen=None):
    """A JSON tree of v's structure that mpwire compares with its exact-mode decoding."""
    if seen is None:
        seen = {}
    t = type(v)
    if v is None:
        return ['none']
    if t is bool:
        return ['bool', v]
    if t in int_types:
        return ['int', str(v).rstrip('L')]
    if t is float:
        return ['float', fhex(v)]
    if t is text_type:
        return ['str', v]
    if PY2 and t is str:
        return ['py2str', bhex(v)]
    if not PY2 and t is bytes:
        return ['bytes', bhex(v)]
    if t is bytearray:
        return ['bytearray', bhex(v)]
    if t in (list, tuple, dict, set, frozenset):
        if t is tuple and not v:
            return ['tuple', [], -1]  # the empty tuple is never memoized
        if id(v) in seen:
            return ['ref', seen[id(v)]]
        ref = len(seen)
        seen[id(v)] = ref
        if t is dict:
            return ['dict', [[describe(k, seen), describe(x, seen)] for k, x in v.items()], ref]
        return [t.__name__, [describe(x, seen) for x in v], ref]
    return ['opaque', t.__module__ + '.' + t.__name__]


def float_same(a, b):
    if a != a and b != b:
        return True
    return a == b and math.copysign(1, a) == math.copysign(1, b)


def same(a, b, memo=None, path='$'):
    """Equal and of the same type, recursively (cycle-safe). Returns None or a reason."""
    if memo is None:
        memo = set()
    ta, tb = type(a), type(b)
    if PY2 and ta in int_types and tb in int_types:
        return None if a == b else '%s: %r != %r' % (path, a, b)
    if ta is not tb:
        return '%s: type %s != %s' % (path, ta, tb)
    if ta is float:
        return None if float_same(a, b) else '%s: %r != %r' % (path, a, b)
    if ta is complex:
        return None if float_same(a.real, b.real) and float_same(a.imag, b.imag) else '%s: %r != %r' % (path, a, b)
    key = (id(a), id(b))
    if key in memo:
        return None
    if isinstance(a, (list, tuple, dict, set, frozenset, collections.deque)) or hasattr(a, '__dict__') or hasattr(a, '__slots__'):
        memo.add(key)
    if isinstance(a, (list, tuple, collections.deque)):
        if len(a) != len(b):
            return '%s: len %d != %d' % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            r = same(x, y, memo, '%s[%d]' % (path, i))
            if r:
                return r
        if isinstance(a, collections.deque) and a.maxlen != b.maxlen:
            return '%s: maxlen' % path
    elif isinstance(a, dict):
        if len(a) != len(b):
            return '%s: len %d != %d' % (path, len(a), len(b))
        for k, x in a.items():
            if k not in b:
                return '%s: missing key %r' % (path, k)
            r = same(x, b[k], memo, '%s[%r]' % (path, k))
            if r:
                return r
            kb = [kk for kk in b if kk == k][0]
            r = same(k, kb, memo, '%s<key %r>' % (path, k))
            if r:
                return r
        if type(a) is collections.defaultdict and a.default_factory is not b.default_factory:
            return '%s: default_factory' % path
        if list(a.keys()) != list(b.keys()) and isinstance(a, collections.OrderedDict):
            return '%s: order' % path
    elif isinstance(a, (set, frozenset)):
        if a != b:
            return '%s: %r != %r' % (path, a, b)
    elif isinstance(a, BaseException):
        r = same(a.args, b.args, memo, path + '.args')
        if r:
            return r
        return same(a.__dict__, b.__dict__, memo, path + '.__dict__')
    elif PY2 and ta.__name__ == 'instance':
        if a.__class__ is not b.__class__:
            return '%s: class %r != %r' % (path, a.__class__, b.__class__)
        return same(a.__dict__, b.__dict__, memo, path + '.__dict__')
    elif ta.__eq__ is not object.__eq__ and not (PY2 and hasattr(a, '__dict__') and not hasattr(ta, '__eq__')) and not isinstance(a, (Slotted, WithDict, Reduced)) and type(a).__name__ != 'Token':
        if not (a == b):
            return '%s: %r != %r' % (path, a, b)
    else:
        if PY2 and ta.__name__ == 'instance':
            if a.__class__ is not b.__class__:
                return '%s: class %r != %r' % (path, a.__class__, b.__class__)
        if a is b:
            return None
        if hasattr(a, '__dict__'):
            r = same(a.__dict__, b.__dict__, memo, path + '.__dict__')
            if r:
                return r
        for s in getattr(ta, '__slots__', ()):
            r = same(getattr(a, s, None), getattr(b, s, None), memo, path + '.' + s)
            if r:
                return r
        if not hasattr(a, '__dict__') and not getattr(ta, '__slots__', None) and a != b:
            return '%s: %r != %r' % (path, a, b)
    return None


def protocols():
    return list(range(0, pickle.HIGHEST_PROTOCOL + 1))


def unhex(h):
    return bytes(bytearray.fromhex(h)) if PY2 else bytes.fromhex(h)


def main():
    mode = sys.argv[1]
    out = sys.stdout
    if mode == 'gen':
        corpus = build_corpus()
        for name, v in corpus.items():
            for p in protocols():
                try:
                    data = pickle.dumps(v, p)
                except Exception:
                    continue  # not picklable at this protocol (e.g. __slots__ below protocol 2)
                try:
                    stable = pickle.dumps(pickle.loads(data), p) == data
                except Exception:
                    stable = False
                out.write(json.dumps({'name': name, 'proto': p, 'hex': bhex(data), 'desc': describe(v), 'stable': stable}) + '\n')
    elif mode == 'check':
        corpus = build_corpus()
        for line in sys.stdin:
            if not line.strip():
                continue
            req = json.loads(line)
            try:
                got = pickle.loads(unhex(req['hex']))
                why = same(corpus[req['name']], got)
            except Exception as e:
                why = 'loads failed: %r' % (e,)
            out.write(json.dumps({'name': req['name'], 'proto': req['proto'], 'ok': why is None, 'why': why}) + '\n')
    elif mode == 'redump':
        for line in sys.stdin:
            if not line.strip():
                continue
            req = json.loads(line)
            try:
                v = pickle.loads(unhex(req['hex']))
                res = {'id': req['id'], 'hex': bhex(pickle.dumps(v, req['proto'])), 'desc': describe(v)}
            except Exception as e:
                res = {'id': req['id'], 'error': repr(e)}
            out.write(json.dumps(res) + '\n')
    else:
        raise SystemExit('unknown mode ' + mode)
    out.flush()


if __name__ == '__main__':
    main()
