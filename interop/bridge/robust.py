# -*- coding: utf-8 -*-
# Worker of interop/bridge/robust.test.ts: hostile exceptions, nesting and Python 2 byte strings.
import sys

import mpwire_child

PY2 = sys.version_info[0] == 2


class Evil(Exception):
    def __str__(self):
        raise RuntimeError('str fails')

    def __repr__(self):
        raise RuntimeError('repr fails')


class BadRepr(object):
    def __repr__(self):
        raise RuntimeError('repr fails')

    def __reduce__(self):
        raise TypeError('not picklable')


def evil():
    raise Evil()


def badarg():
    raise ValueError(BadRepr())


def nonascii():
    raise ValueError('café')  # a byte str on Python 2, text on Python 3


def ok():
    return 1


def py(n):
    """One level of a JS -> Python -> JS chain."""
    return 0 if n == 0 else 1 + mpwire_child.call('js', n - 1)


def talk():
    """A byte str with non-ASCII bytes on Python 2 (text on Python 3) sent to Node."""
    return mpwire_child.call('log', 'café')


mpwire_child.serve({'evil': evil, 'badarg': badarg, 'nonascii': nonascii, 'ok': ok, 'py': py, 'talk': talk})
