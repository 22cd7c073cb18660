"""mpwire_child: the Python end of ``mpwire/bridge`` (stdlib only; Python 2.7 and 3.6+).

A Node program started this interpreter with ``spawnPython()``; the fd named by the environment
variable ``MPWIRE_FD`` is one end of a socketpair speaking the ``multiprocessing`` wire protocol.

Raw use (no helper needed), on Python 3::

    import os
    from multiprocessing.connection import Connection
    conn = Connection(int(os.environ['MPWIRE_FD']))

Python 2.7's ``multiprocessing.connection`` has no ``Connection`` class: use
``from _multiprocessing import Connection`` there (this module picks the right one).

Request/response use::

    import mpwire_child

    def add(a, b):
        return a + b

    mpwire_child.serve({'add': add})          # answers child.call('add', 1, 2) from Node

    mpwire_child.call('log', 'hello')         # calls a handler registered on the Node side

With ``spawnPython(..., { authkey })`` the key arrives as hex in ``MPWIRE_AUTHKEY`` and ``connect()``
answers the HMAC handshake (Node challenges first). ``connect()`` also asks Linux to SIGKILL this
process when the Node parent dies (``MPWIRE_PDEATHSIG=0`` turns that off). A ``Peer`` reads frames
through a buffered file on the same fd (the same wire format as ``Connection``, fewer syscalls for
pipelined requests), serves requests that arrive while one of its own ``call()`` waits and answers
with plain ``pickle`` at the default protocol. Nested requests are served at once up to 8 levels
deep; deeper ones wait in a queue only while answers keep arriving (so a burst of pipelined requests
does not pile up on the stack) and are served after 50 ms without input, at any depth: a
JS -> Python -> JS chain never deadlocks. When the stack is nearly full (``sys.getrecursionlimit()``)
the request gets a ``RecursionError`` reply instead.

Messages (lists, so that any codec can carry them):
``['call', id, name, args, kwargs]``, ``['ok', id, value]``, ``['err', id, info]`` where ``info`` is a
dict with ``type``, ``module``, ``message``, ``args`` and ``traceback``.
"""
import collections
import errno
import os
import sys
import threading
import traceback

try:
    from multiprocessing.connection import Connection
    _Connection = Connection
except ImportError:  # pragma: no cover - Python 2.7 keeps the fd-based Connection in the C module
    from _multiprocessing import Connection as _Connection

try:
    import builtins as _builtins
except ImportError:  # Python 2
    import __builtin__ as _builtins

__all__ = ['connect', 'serve', 'call', 'Peer', 'RemoteError']

PY2 = sys.version_info[0] == 2
if PY2:
    _text = unicode  # noqa: F821
else:
    _text = str


class RemoteError(Exception):
    """An exception raised by a Node handler whose type has no Python builtin counterpart."""

    def __init__(self, message, type=None, module=None, args=None, traceback=None):
        Exception.__init__(self, message)
        self.type = type
        self.module = module
        self.remote_args = args
        self.remote_traceback = traceback

    def __str__(self):
        return '%s: %s' % (self.type, self.args[0]) if self.type else str(self.args[0])


def _die_with_parent():
    """Linux: ask for SIGKILL when the Node parent dies (the socket EOF covers other systems)."""
    if not sys.platform.startswith('linux') or os.environ.get('MPWIRE_PDEATHSIG') == '0':
        return
    try:
        import ctypes
        import signal
        libc = ctypes.CDLL(None)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        ppid = os.environ.get('MPWIRE_PARENT_PID')
        if ppid and os.getppid() != int(ppid):  # the parent is already gone
            os._exit(1)
    except Exception:
        pass


_default_conn = []


def _authenticate(conn, key):
    """The client half of the handshake (Node challenges first, as a Listener does)."""
    from multiprocessing.connection import answer_challenge, deliver_challenge
    key = bytes(key)
    answer_challenge(conn, key)
    deliver_challenge(conn, key)


def connect(fd=None):
    """The Connection on the inherited fd (``MPWIRE_FD``); one per process, created on first use."""
    if fd is None:
        if _default_conn:
            return _default_conn[0]
        value = os.environ.get('MPWIRE_FD')
        if value is None:
            raise RuntimeError('MPWIRE_FD is not set: this process was not started by mpwire spawnPython()')
        conn = _Connection(int(value))
        _die_with_parent()
        key = os.environ.get('MPWIRE_AUTHKEY')
        if key is not None:
            _authenticate(conn, bytearray.fromhex(key))
        _default_conn.append(conn)
        return conn
    return _Connection(int(fd))


def _u(s):
    """Text for the wire: Python 2 byte strings become unicode so every peer can decode them."""
    if PY2 and isinstance(s, str):
        return s.decode('utf-8', 'replace')
    return s


def _safe_repr(value):
    """repr() that never raises: a broken __repr__ must not take serve() down."""
    try:
        return _u(repr(value))
    except Exception:
        return _u('<unprintable %s>' % type(value).__name__)


def _log(text):
    try:
        sys.stderr.write('mpwire_child: %s\n' % text)
        sys.stderr.flush()
    except Exception:
        pass


def _picklable(value):
    import pickle
    try:
        pickle.dumps(value, 2)
        return True
    except Exception:
        return False


def _error_info(exc, tb_text):
    try:
        args = list(getattr(exc, 'args', ()) or ())
    except Exception:
        args = []
    if not _picklable(args):
        args = [_safe_repr(a) for a in args]
    try:
        if PY2:
            try:
                # A byte str message is UTF-8 (the usual source encoding), as on Python 3.
                message = str(exc).decode('utf-8', 'replace')
            except UnicodeError:  # a unicode message that str() cannot encode
                message = unicode(exc)  # noqa: F821
        else:
            message = str(exc)
    except Exception:
        message = _safe_repr(exc)
    cls = type(exc)
    module = cls.__module__
    if module in ('exceptions', '__builtin__'):
        module = 'builtins'
    return {'type': _u(cls.__name__), 'module': _u(module), 'message': _u(message), 'args': args, 'traceback': _u(tb_text)}


def _exception_from(info):
    """A Python exception for an error sent by Node: a builtin type when the name matches one."""
    if not isinstance(info, dict):
        return RemoteError(repr(info))
    name = info.get('type') or 'Error'
    message = info.get('message') or ''
    cls = getattr(_builtins, str(name), None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls.__name__ not in ('SystemExit', 'KeyboardInterrupt'):
        try:
            exc = cls(message)
            exc.remote_traceback = info.get('traceback')
            return exc
        except Exception:
            pass
    return RemoteError(message, type=name, module=info.get('module'), args=info.get('args'), traceback=info.get('traceback'))


class _BufferedFrames(object):
    """The same frames as Connection, read through a buffer of its own: one recv() syscall serves
    many pipelined requests (Connection.recv makes two per message), and ``poll()`` can tell whether
    input is waiting (a buffered file cannot). Used by Peer on socket fds."""

    def __init__(self, conn):
        import select
        import socket
        import struct
        self._struct = struct
        self._select = select
        self._socket_error = socket.error
        fd = conn.fileno()
        self._sock = socket.fromfd(fd, socket.AF_UNIX, socket.SOCK_STREAM)
        self._buf = bytearray()
        import pickle
        # Plain pickle at the default protocol: what Connection.send writes for plain data,
        # without ForkingPickler's per-call dispatch-table copy.
        protocol = getattr(pickle, 'DEFAULT_PROTOCOL', 2)
        self._dumps = lambda obj: pickle.dumps(obj, protocol)
        self._loads = pickle.loads

    def _read(self, n, boundary=False):
        buf = self._buf
        while len(buf) < n:
            try:
                chunk = self._sock.recv(max(65536, n - len(buf)))
            except self._socket_error as e:  # Python 2 does not retry EINTR itself
                if getattr(e, 'errno', None) == errno.EINTR:
                    continue
                raise
            if not chunk:
                if boundary and not buf:
                    raise EOFError
                raise EOFError('truncated frame')
            buf += chunk
        data = bytes(buf[:n])
        del buf[:n]
        return data

    def poll(self, timeout):
        """True when input is waiting (buffered, or readable within ``timeout`` seconds)."""
        if self._buf:
            return True
        select = self._select
        try:
            if hasattr(select, 'poll'):  # no FD_SETSIZE limit on the dup'ed fd
                p = select.poll()
                p.register(self._sock.fileno(), select.POLLIN)
                return bool(p.poll(int(timeout * 1000)))
            return bool(select.select([self._sock], [], [], timeout)[0])
        except (select.error, OSError, IOError):  # EINTR on Python 2: just look again later
            return False

    def recv(self):
        size, = self._struct.unpack('!i', self._read(4, True))
        if size == -1:
            size, = self._struct.unpack('!Q', self._read(8))
        return self._loads(self._read(size))

    def send(self, obj):
        data = self._dumps(obj)
        n = len(data)
        head = self._struct.pack('!i', n) if n <= 0x7fffffff else self._struct.pack('!iQ', -1, n)
        self._sock.sendall(head + data if n < 16384 else head)
        if n >= 16384:
            self._sock.sendall(data)


def _framer(conn):
    try:
        return _BufferedFrames(conn)
    except Exception:  # not a socket, or an unusual platform: the Connection itself
        return conn


_MAX_NESTING = 8  # nested requests served at once up to this depth
_STALL = 0.05  # deeper, seconds without input before a queued request is served anyway
_STACK_MARGIN = 100  # frames kept free for the handler, the reply and its traceback
_RecursionError = getattr(_builtins, 'RecursionError', RuntimeError)


def _stack_room():
    """Frames left before the recursion limit."""
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return sys.getrecursionlimit() - depth


def _is_int(value):
    return isinstance(value, (int, long)) if PY2 else isinstance(value, int)  # noqa: F821


class Peer(object):
    """Both directions of the request/response protocol over one Connection.

    ``serve(handlers)`` answers calls from Node until it closes the connection; ``call(name, *args)``
    asks a Node handler and waits for its answer (calls from Node that arrive meanwhile are served).
    """

    def __init__(self, conn=None, handlers=None):
        self.conn = conn if conn is not None else connect()
        self._io = _framer(self.conn)
        self.handlers = dict(handlers or {})
        self._next_id = 0
        self._results = {}
        self._send_lock = threading.Lock()
        self._queue = collections.deque()  # requests that arrived while a nested call() waited
        self._depth = 0

    def _send(self, msg):
        with self._send_lock:
            self._io.send(msg)

    @staticmethod
    def _is_request(msg):
        return isinstance(msg, (list, tuple)) and len(msg) >= 4 and msg[0] == 'call'

    def _poll(self, timeout):
        poll = getattr(self._io, 'poll', None)
        return poll(timeout) if poll is not None else True

    def _dispatch(self, msg):
        """Handle one request; returns False when the message is not a request."""
        if not self._is_request(msg):
            return False
        ident = msg[1]
        self._depth += 1
        try:
            # Checked here, not trusted: a malformed request gets an error reply, as on every
            # Python version, instead of crashing serve().
            name, args = msg[2], msg[3]
            kwargs = msg[4] if len(msg) > 4 else None
            if not isinstance(name, (str, _text)):
                raise TypeError('call name must be a string, not %s' % type(name).__name__)
            if args is None:
                args = ()
            if not isinstance(args, (list, tuple)):
                raise TypeError('call arguments must be a list, not %s' % type(args).__name__)
            if kwargs is None:
                kwargs = {}
            if not isinstance(kwargs, dict):
                raise TypeError('argument after ** must be a mapping, not %s' % type(kwargs).__name__)
            if PY2:
                kwargs = dict((k.encode('utf-8') if isinstance(k, _text) else k, v) for k, v in kwargs.items())
            fn = self.handlers.get(name)
            if fn is None:
                raise NameError('no handler named %r' % (name,))
            if self._depth > _MAX_NESTING and _stack_room() < _STACK_MARGIN:
                raise _RecursionError('nested calls too deep (%d levels)' % self._depth)
            result = fn(*args, **kwargs)
        except Exception as exc:
            self._depth -= 1
            self._send(['err', ident, _error_info(exc, traceback.format_exc())])
        else:
            self._depth -= 1
            try:
                self._send(['ok', ident, result])
            except Exception as exc:  # the result could not be pickled
                self._send(['err', ident, _error_info(exc, traceback.format_exc())])
        return True

    def serve(self, handlers=None):
        """Answer requests until Node closes the connection (returns normally on EOF)."""
        if handlers:
            self.handlers.update(handlers)
        while True:
            if self._queue:
                msg = self._queue.popleft()
            else:
                try:
                    msg = self._io.recv()
                except EOFError:
                    return
            if not self._dispatch(msg):
                self._store(msg)

    def _store(self, msg):
        if not (isinstance(msg, (list, tuple)) and len(msg) >= 3 and msg[0] in ('ok', 'err')):
            _log('dropped a message that is neither a request nor a reply: %s' % _safe_repr(msg)[:200])
        elif not _is_int(msg[1]):  # no call of ours has it (and it may not even be hashable)
            _log('dropped a reply with an invalid id: %s' % _safe_repr(msg[1])[:200])
        else:
            self._results[msg[1]] = msg

    def call(self, name, *args, **kwargs):
        """Call the Node handler ``name`` and return its result; its errors are raised here."""
        self._next_id -= 1  # negative ids: never equal to Node's ids
        ident = self._next_id
        self._send(['call', ident, _u(name), list(args), dict((_u(k), v) for k, v in kwargs.items())])
        while ident not in self._results:
            # Serve requests that arrive meanwhile (Node handlers may call back in). Past a few
            # levels, queued requests wait while input keeps coming (our answer may be in it), but
            # not forever: the answer we wait for may depend on one of them.
            if self._queue and (self._depth < _MAX_NESTING or not self._poll(_STALL)):
                self._dispatch(self._queue.popleft())
                continue
            msg = self._io.recv()
            if self._is_request(msg):
                if self._depth < _MAX_NESTING and not self._queue:
                    self._dispatch(msg)
                else:
                    self._queue.append(msg)
            else:
                self._store(msg)
        reply = self._results.pop(ident)
        if reply[0] == 'ok':
            return reply[2]
        raise _exception_from(reply[2])


_default_peer = []


def _peer():
    if not _default_peer:
        _default_peer.append(Peer())
    return _default_peer[0]


def serve(handlers, conn=None):
    """Answer ``call(name, ...)`` requests from Node with ``handlers[name](*args, **kwargs)``."""
    if conn is not None:
        return Peer(conn, handlers).serve()
    return _peer().serve(handlers)


def call(name, *args, **kwargs):
    """Call a handler registered on the Node side (``spawnPython(..., { handlers })``)."""
    return _peer().call(name, *args, **kwargs)
