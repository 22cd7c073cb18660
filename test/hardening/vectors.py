"""Generate hostile pickles with real CPython: test/hardening/hostile-vectors.json.

Every vector is what `pickle.dumps` writes for an object whose `__reduce__` (or `__reduce_ex__`,
or `__dict__`) would run code or pollute prototypes when *Python* unpickles it. Nothing here ever
unpickles them: they are only written, and checked with `pickletools.genops` (which parses and
never executes) to contain the dangerous global they are meant to carry.

Run from the repository root:  python3 test/hardening/vectors.py
"""
import _compat_pickle
import builtins
import copyreg
import functools
import json
import os
import pickle
import pickletools
import posix
import subprocess
import sys
import types

MARKER = '/tmp/mpwire-hostile-marker'
CMD = 'touch ' + MARKER


def fake_module(modname, **attrs):
    """A module registered in sys.modules so pickle saves its members by reference (no import)."""
    mod = types.ModuleType(modname)
    for name, value in attrs.items():
        value.__module__ = modname
        value.__qualname__ = name
        setattr(mod, name, value)
    sys.modules[modname] = mod
    return mod


def _nt_system(cmd):  # stands for Windows' nt.system; never called
    raise AssertionError('never called')


nt = fake_module('nt', system=_nt_system)


class Reduce:
    """An object that pickles as `func(*args)`."""

    def __init__(self, func, args, state=None):
        self.func, self.args, self.state = func, args, state

    def __reduce__(self):
        if self.state is None:
            return (self.func, self.args)
        return (self.func, self.args, self.state)


class CallableReduce(Reduce):
    """Like Reduce, but callable, so pickle accepts it as the callable of another reduction."""

    def __call__(self, *args):
        raise AssertionError('never called')


class ReduceEx:
    """The `__reduce_ex__` trick: the protocol-dependent hook pickle prefers over `__reduce__`."""

    def __reduce_ex__(self, protocol):
        return (os.system, (CMD,))


class Plain:
    pass


class Slotted:
    __slots__ = ('__dict__', 'constructor', 'prototype')


def with_dict(cls, d):
    o = cls()
    o.__dict__.update(d)
    return o


def slotted():
    o = Slotted()
    o.constructor = {'prototype': {'polluted': 'slots'}}
    o.prototype = {'polluted': 'slots'}
    o.__dict__['__proto__'] = {'polluted': 'slots'}
    return o


def pollution_global_class():
    mod = sys.modules.get('__proto__')
    if mod is not None:
        return mod.polluted
    cls = type('polluted', (), {})
    fake_module('__proto__', polluted=cls)
    return cls


def constructor_global_class():
    cls = type('prototype', (), {})
    fake_module('constructor', prototype=cls)
    return cls


POLLUTION = {'polluted': 'yes'}

# name -> (object, dangerous globals that must reach findClass, kind)
CASES = {
    'os_system': (Reduce(os.system, (CMD,)), ['posix.system'], 'exec'),
    'posix_system': (Reduce(posix.system, (CMD,)), ['posix.system'], 'exec'),
    'nt_system': (Reduce(nt.system, (CMD,)), ['nt.system'], 'exec'),
    'builtins_eval': (Reduce(builtins.eval, ("__import__('os').system(%r)" % CMD,)), ['builtins.eval'], 'exec'),
    'builtins_exec': (Reduce(builtins.exec, ("import os; os.system(%r)" % CMD,)), ['builtins.exec'], 'exec'),
    'subprocess_popen': (Reduce(subprocess.Popen, (['touch', MARKER],)), ['subprocess.Popen'], 'exec'),
    'subprocess_check_output': (Reduce(subprocess.check_output, (['touch', MARKER],)), ['subprocess.check_output'], 'exec'),
    'reduce_ex': (ReduceEx(), ['posix.system'], 'exec'),
    # getattr(__import__('os'), 'system')(CMD): the callable is itself the result of a reduction.
    'getattr_chain': (
        Reduce(CallableReduce(builtins.getattr, (Reduce(builtins.__import__, ('os',)), 'system')), (CMD,)),
        ['builtins.getattr', 'builtins.__import__'],
        'exec',
    ),
    # getattr(getattr(__import__('builtins'), 'eval'), '__call__')(source)
    'getattr_chain_2': (
        Reduce(
            CallableReduce(builtins.getattr, (CallableReduce(builtins.getattr, (Reduce(builtins.__import__, ('builtins',)), 'eval')), '__call__')),
            ("__import__('os').system(%r)" % CMD,),
        ),
        ['builtins.getattr', 'builtins.__import__'],
        'exec',
    ),
    # copyreg._reconstructor(cls, base, state) runs base.__init__(obj, state) when base is not object.
    'copyreg_reconstructor': (
        Reduce(copyreg._reconstructor, (subprocess.Popen, subprocess.Popen, ['touch', MARKER])),
        ['copyreg._reconstructor'],
        'exec',
    ),
    'copyreg_newobj': (Reduce(copyreg.__newobj__, (subprocess.Popen, ['touch', MARKER])), ['copyreg.__newobj__'], 'exec'),
    'functools_partial': (Reduce(functools.partial(os.system, CMD), ()), ['functools.partial', 'posix.system'], 'exec'),
    'nested_pickle_loads': (Reduce(pickle.loads, (pickle.dumps(Reduce(os.system, (CMD,))),)), ['_pickle.loads'], 'exec'),
    'os_execv': (Reduce(os.execv, ('/bin/sh', ['sh', '-c', CMD])), ['posix.execv'], 'exec'),
    # Prototype pollution attempts: dict keys (SETITEM/SETITEMS), BUILD state keys, slot state, global names.
    'dict_keys': (
        {'__proto__': POLLUTION, 'constructor': {'prototype': POLLUTION}, 'prototype': POLLUTION},
        [],
        'pollution',
    ),
    'dict_single_proto': ({'__proto__': POLLUTION}, [], 'pollution'),
    'nested_dict_keys': ([{'a': {'__proto__': POLLUTION}}, {'constructor': {'prototype': {'polluted': 'yes'}}}], [], 'pollution'),
    'build_state_keys': (
        with_dict(Plain, {'__proto__': POLLUTION, 'constructor': {'prototype': POLLUTION}, 'prototype': POLLUTION}),
        ['__main__.Plain'],
        'pollution',
    ),
    'build_slots_state': (slotted(), ['__main__.Slotted'], 'pollution'),
    'global_proto_name': (Reduce(pollution_global_class(), ()), ['__proto__.polluted'], 'pollution'),
    'global_constructor_name': (Reduce(constructor_global_class(), ()), ['constructor.prototype'], 'pollution'),
    'global_proto_build': (Reduce(pollution_global_class(), (), {'__proto__': POLLUTION}), ['__proto__.polluted'], 'pollution'),
}


def referenced_globals(data):
    """module.name of every GLOBAL/INST/STACK_GLOBAL, read by pickletools without executing."""
    found, strings, memo = [], [], {}
    for op, arg, _pos in pickletools.genops(data):
        if op.name in ('GLOBAL', 'INST'):
            found.append(arg.replace(' ', '.'))
        elif op.name in ('SHORT_BINUNICODE', 'BINUNICODE', 'BINUNICODE8', 'UNICODE', 'STRING', 'BINSTRING', 'SHORT_BINSTRING'):
            strings.append(arg)
        elif op.name in ('BINGET', 'LONG_BINGET', 'GET'):
            strings.append(memo.get(arg))
        elif op.name in ('BINPUT', 'LONG_BINPUT', 'PUT'):
            memo[arg] = strings[-1] if strings else None
        elif op.name == 'MEMOIZE':
            memo[len(memo)] = strings[-1] if strings else None
        elif op.name == 'STACK_GLOBAL':
            found.append('%s.%s' % (strings[-2], strings[-1]))
        if op.name not in ('BINPUT', 'LONG_BINPUT', 'PUT', 'MEMOIZE', 'STACK_GLOBAL') and not op.name.endswith('UNICODE') and 'STRING' not in op.name and 'GET' not in op.name:
            strings.append(None)
    return found


def py2_name(g):
    module, name = g.split('.', 1)
    if (module, name) in _compat_pickle.REVERSE_NAME_MAPPING:
        return '.'.join(_compat_pickle.REVERSE_NAME_MAPPING[(module, name)])
    return '%s.%s' % (_compat_pickle.REVERSE_IMPORT_MAPPING.get(module, module), name)


def main():
    out = []
    for name, (obj, dangerous, kind) in CASES.items():
        for protocol in range(0, pickle.HIGHEST_PROTOCOL + 1):
            try:
                data = pickle.dumps(obj, protocol)
            except (pickle.PicklingError, TypeError):
                # copyreg.__newobj__ becomes NEWOBJ from protocol 2 on, which needs a real instance;
                # protocols 0 and 1 cannot save __slots__ state.
                assert (name == 'copyreg_newobj' and protocol >= 2) or (name == 'build_slots_state' and protocol < 2), (name, protocol)
                continue
            refs = referenced_globals(data)
            written = []
            for g in dangerous:
                # Protocols < 3 write Python 2 names (fix_imports), e.g. __builtin__.eval, commands.Popen.
                g2 = py2_name(g)
                assert g in refs or g2 in refs, (name, protocol, g, refs)
                written.append(g if g in refs else g2)
            out.append({'name': name, 'protocol': protocol, 'kind': kind, 'dangerous': written, 'globals': refs, 'hex': data.hex()})
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, 'hostile-vectors.json'), 'w') as f:
        json.dump({'python': sys.version.split()[0], 'marker': MARKER, 'vectors': out}, f, indent=1)
        f.write('\n')
    print('wrote %d vectors' % len(out))


if __name__ == '__main__':
    main()
