# Golden NumPy pickles for test/pickle/numpy.test.ts, written by NumPy's own reducers.
#   /usr/bin/python3 test/pickle/numpy_vectors.py test/pickle/numpy_vectors.json                  (NumPy 1.x)
#   PYENV_VERSION=3.11.7 python test/pickle/numpy_vectors.py test/pickle/numpy_vectors.json       (NumPy 2.x)
# Each run replaces the entries of its NumPy major ("numpy1" / "numpy2") in the JSON file and keeps
# the other's. An entry: name, proto, the pickle (base64), and what it must decode to: dtype.str,
# shape, order ('F' when NumPy pickles the array in Fortran order) and the raw item bytes in that
# order. interop/numpy/peer.py imports DTYPES, values() and shapes() from here.
import base64
import json
import os
import pickle
import sys

import numpy as np

DTYPES = ['|b1', '|i1', '<i2', '<i4', '<i8', '|u1', '<u2', '<u4', '<u8', '<f2', '<f4', '<f8', '<c8', '<c16',
          '>i4', '>u2', '>f8', '>c16', '<M8[ms]', '<M8[ns]', '<m8[s]', '<M8[D]', '|S5', '<U3', '|V3',
          [('a', '<i4'), ('b', '>f8', (2,))], {'names': ['x', 'y'], 'formats': ['u1', '<f8'], 'aligned': True}]


def values(dt, n):
    """n deterministic items of dt, with the awkward values of each kind."""
    i = np.arange(n)
    if dt.kind == 'b':
        return (i % 3 == 1)
    if dt.kind in 'iu':
        a = (i * 37 + 1).astype(dt)
        if n > 2:
            a[-1] = np.iinfo(dt).max
            a[-2] = np.iinfo(dt).min
        return a
    if dt.kind == 'f':
        a = (i * 0.5 - 1).astype(dt)
        if n > 3:
            a[1], a[2], a[3] = np.nan, -np.inf, -0.0
        return a
    if dt.kind == 'c':
        return (i * 0.5 + 1j * (i - 2)).astype(dt)
    if dt.kind == 'M':
        a = (np.datetime64('2024-02-29T12:34:56.789', 'ms') + i * np.timedelta64(86_400_123, 'ms')).astype(dt)
        if n > 2:
            a[1] = np.datetime64('NaT')
        return a
    if dt.kind == 'm':
        return (i * 3600 - 7).astype(dt)
    if dt.kind == 'S':
        return np.array([(b'ab%d' % k)[: dt.itemsize] for k in range(n)], dtype=dt)
    if dt.kind == 'U':
        return np.array([('\u00e9\U0001f600%d' % k)[:3] for k in range(n)], dtype=dt)
    if dt.kind == 'V' and dt.names is None:
        return np.array([bytes([k, 255 - k, 7]) for k in range(n)], dtype=dt)
    a = np.zeros(n, dtype=dt)
    for k, name in enumerate(dt.names):
        sub = a[name]
        sub[...] = (np.arange(sub.size).reshape(sub.shape) * (k + 1.5)).astype(sub.dtype)
    return a


def shapes(dt):
    """(label, array) pairs: 0-d, empty, 1-d, C 2-d, Fortran 2-d, a non-contiguous view, 3-d."""
    base = values(dt, 24)
    return [
        ('0d', values(dt, 1).reshape(())),
        ('empty', values(dt, 0)),
        ('empty2d', values(dt, 0).reshape(2, 0)),
        ('1d', values(dt, 5)),
        ('c2d', base[:6].reshape(2, 3)),
        ('f2d', np.asfortranarray(base[:6].reshape(2, 3))),
        ('strided', base.reshape(4, 6)[::2, 1::2]),
        ('3d', base.reshape(2, 3, 4)),
    ]


def expect(a):
    # NumPy pickles Fortran order only for arrays that are F- but not C-contiguous.
    fortran = a.flags.f_contiguous and not a.flags.c_contiguous
    order = 'F' if fortran else 'C'
    return {'dtype': a.dtype.str, 'shape': list(a.shape), 'order': order,
            'raw': base64.b64encode(a.tobytes(order=order)).decode()}


def dt_label(d):
    return d.str if d.names is None else 'struct%d' % d.itemsize + ('a' if d.isalignedstruct else '')


def main():
    entries = []
    for spec in DTYPES:
        dt = np.dtype(spec)
        for label, a in shapes(dt):
            for proto in (2, 3, 4, 5):
                entries.append(dict(name='%s/%s' % (dt_label(dt), label), proto=proto, kind='array',
                                    b64=base64.b64encode(pickle.dumps(a, proto)).decode(), **expect(a)))
        s = values(dt, 3)[2]
        if dt.names is None:
            for proto in (2, 4, 5):
                entries.append(dict(name='%s/scalar' % dt_label(dt), proto=proto, kind='scalar',
                                    b64=base64.b64encode(pickle.dumps(s, proto)).decode(), dtype=s.dtype.str, shape=[], order='C',
                                    raw=base64.b64encode(np.array(s, dtype=s.dtype).tobytes()).decode(), repr=repr(s.item())))
    # Object arrays: items are pickled as a list.
    for proto in (2, 4, 5):
        a = np.array([1, 'two', None, 2.5], dtype=object)
        entries.append(dict(name='|O/1d', proto=proto, kind='object', b64=base64.b64encode(pickle.dumps(a, proto)).decode(),
                            dtype='|O', shape=[4], order='C', raw=''))
    # Several arrays sharing one dtype object and the same array twice (memo).
    a = np.arange(4.0)
    for proto in (2, 4, 5):
        entries.append(dict(name='shared', proto=proto, kind='shared', b64=base64.b64encode(pickle.dumps([a, a, a + 1], proto)).decode(),
                            dtype='<f8', shape=[4], order='C', raw=base64.b64encode(a.tobytes()).decode()))
    # Protocol 5 with out-of-band buffers (NEXT_BUFFER), writable and read-only (READONLY_BUFFER).
    for ro in (False, True):
        a = np.arange(12, dtype='<i4').reshape(3, 4)
        a.flags.writeable = not ro
        bufs = []
        data = pickle.dumps(a, 5, buffer_callback=bufs.append)
        entries.append(dict(name='oob%s' % ('_ro' if ro else ''), proto=5, kind='oob', b64=base64.b64encode(data).decode(),
                            buffers=[base64.b64encode(b.raw()).decode() for b in bufs], **expect(a)))
    major = 'numpy%d' % int(np.__version__.split('.')[0])
    out = sys.argv[1] if len(sys.argv) > 1 else None
    doc = {}
    if out and os.path.exists(out):
        with open(out) as f:
            doc = json.load(f)
    doc[major] = {'numpy': np.__version__, 'python': sys.version.split()[0], 'entries': entries}
    text = json.dumps(doc, indent=0, sort_keys=True)
    if out:
        with open(out, 'w') as f:
            f.write(text + '\n')
    else:
        sys.stdout.write(text)


if __name__ == '__main__':
    main()
