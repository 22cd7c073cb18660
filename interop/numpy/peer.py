# NumPy peer of interop/numpy/numpy.test.ts, on the stdlib Connection of MPWIRE_FD.
# 1. For every case of test/pickle/numpy_vectors.py (each dtype and shape) and protocol 2-5: send
#    the pickle NumPy writes, receive what Node re-encodes at protocols 2-5, and compare (type,
#    dtype, shape, item bytes, numpy.array_equal).
# 2. The same through Connection.send (ForkingPickler, the interpreter's default protocol).
# 3. Receive (description, value) pairs made in Node (TypedArrays, NDArrays) and compare; and the
#    golden pickles of both NumPy majors (test/pickle/numpy_vectors.json) re-encoded by Node.
# Then send one JSON summary: NumPy version, counts and failures.
import json
import os
import pickle
import sys

import numpy as np
from multiprocessing.connection import Connection

from numpy_vectors import DTYPES, dt_label, shapes, values

conn = Connection(int(os.environ['MPWIRE_FD']))
summary = {'numpy': np.__version__, 'python': sys.version.split()[0], 'checked': 0, 'fails': []}


def differs(a, b):
    if type(a) is not type(b):
        return 'type %s, expected %s' % (type(b).__name__, type(a).__name__)
    if a.dtype != b.dtype or a.dtype.str != b.dtype.str:
        return 'dtype %r, expected %r' % (b.dtype, a.dtype)
    if isinstance(a, np.ndarray) and a.shape != b.shape:
        return 'shape %r, expected %r' % (b.shape, a.shape)
    if a.dtype.kind == 'O':
        return None if a.tolist() == b.tolist() else 'items differ'
    if a.dtype.names is not None:
        # Structured items: compare field by field (padding bytes are not data).
        for name in a.dtype.names:
            why = differs(a[name], b[name])
            if why:
                return 'field %s: %s' % (name, why)
        return None
    if np.asarray(a).tobytes() != np.asarray(b).tobytes():
        return 'item bytes differ'
    if a.dtype.kind in 'biufc' and not np.array_equal(a, b, equal_nan=a.dtype.kind in 'fc'):
        return 'not array_equal'
    if a.dtype.kind in 'mMSUV' and a.dtype.names is None and not np.array_equal(a, b) and 'NaT' not in repr(a):
        return 'not array_equal'
    return None


def reference(a):
    # What NumPy itself gives back through `_reconstruct` (its protocol 2-4 form, the one mpwire
    # writes): a simple big-endian dtype comes back in native byte order with the same values.
    return pickle.loads(pickle.dumps(a, 4))


def check(name, a, data, pair=False):
    a = reference(a)
    summary['checked'] += 1
    try:
        b = pickle.loads(data)
        if pair:
            b = b[1]
    except Exception as e:
        summary['fails'].append('%s: %s: %s' % (name, type(e).__name__, e))
        return
    why = differs(a, b)
    if why:
        summary['fails'].append('%s: %s' % (name, why))
        if os.environ.get('NUMPY_PEER_DEBUG'):
            sys.stderr.write('%s\n  expected %r\n  got      %r\n' % (name, a, b))


cases = []
for spec in DTYPES:
    dt = np.dtype(spec)
    for label, a in shapes(dt):
        cases.append(('%s/%s' % (dt_label(dt), label), a))
    if dt.names is None:
        cases.append(('%s/scalar' % dt_label(dt), values(dt, 3)[2]))
cases.append(('|O/1d', np.array([1, 'two', None, 2.5], dtype=object)))
cases.append(('big', np.random.default_rng(1).random((300, 400))))

for name, a in cases:
    for p in (2, 3, 4, 5):
        conn.send_bytes(pickle.dumps(a, p))
        for q in (2, 3, 4, 5):
            check('%s p%d->node->p%d' % (name, p, q), a, conn.recv_bytes())
conn.send_bytes(b'SEND')
for name, a in cases:
    conn.send(a)
    check('%s Connection.send->node->p4' % name, a, conn.recv_bytes())

by_name = dict(cases)
conn.send_bytes(b'JS')
while True:
    msg = conn.recv_bytes()
    if msg == b'END':
        break
    try:
        desc, value = pickle.loads(msg)
    except Exception as e:
        summary['checked'] += 1
        summary['fails'].append('node message: %s: %s' % (type(e).__name__, e))
        continue
    if 'case' in desc:
        # A golden pickle of either NumPy major, decoded and re-encoded by Node.
        check('golden %s from %s' % (desc['case'], desc['from']), by_name[desc['case']], msg, pair=True)
        continue
    expected = np.array(desc['values'], dtype=desc['dtype']).reshape(desc['shape'])
    if desc['order'] == 'F':
        expected = np.asfortranarray(expected)
    summary['checked'] += 1
    why = differs(reference(expected), value)
    if why:
        summary['fails'].append('node %s: %s' % (desc['name'], why))
conn.send_bytes(json.dumps(summary).encode())
conn.close()
