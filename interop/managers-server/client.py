"""Stock multiprocessing clients against mpwire's TypeScript manager server (stdlib only, 2.7 and 3.6+).

usage: client.py <mode> <host> <port> <authkey> [args...]
Prints one line per check: "OK <name>" or "FAIL <name>: <detail>", then "DONE".
"""
from __future__ import print_function

import gc
import sys
import threading
import time
import traceback

from multiprocessing.managers import BaseManager, SyncManager, RemoteError, ValueProxy, AcquirerProxy, ListProxy, DictProxy

try:
    import queue
except ImportError:  # Python 2
    import Queue as queue

PY2 = sys.version_info[0] == 2
STR = (str, type(u"")) if PY2 else str
mode, host, port, authkey = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].encode()
extra = sys.argv[5:]
# host "unix" means port is the path of a Unix socket
address = port if host == "unix" else (host, int(port))


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def check(name):
    def deco(fn):
        try:
            fn()
            out("OK " + name)
        except Exception:
            out("FAIL " + name + ": " + traceback.format_exc().replace("\n", " | "))
        return fn
    return deco


def raises(exc, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc as e:
        return e
    raise AssertionError("expected {0}".format(exc.__name__))


def sync_checks():
    m = SyncManager(address, authkey)
    m.connect()

    @check("dict")
    def _():
        d = m.dict({"a": 1}, b=2) if not PY2 else m.dict({"a": 1, "b": 2})
        d["k"] = "v"
        d[1] = 1.5
        d[(1, 2)] = b"\x00\xff"
        assert d["k"] == "v" and d[1.0] == 1.5 and d[True] == 1.5
        assert isinstance(d[1], float)
        assert d[(1, 2)] == b"\x00\xff"
        assert len(d) == 5 and "a" in d and "zz" not in d
        assert d.get("zz") is None and d.get("zz", 7) == 7
        assert sorted(k for k in d.keys() if isinstance(k, STR)) == ["a", "b", "k"]
        assert d.pop("b") == 2 and d.pop("nope", 3) == 3
        assert d.setdefault("s", [1, 2]) == [1, 2] and d["s"] == [1, 2]
        if PY2:  # Python 2 str keys are kept as bytes; keyword names arrive as text (see README)
            d.update({"u": None, "w": 2 ** 70})
        else:
            d.update({"u": None}, w=2 ** 70)
        assert d["u"] is None and d["w"] == 2 ** 70
        assert set(d.copy().keys()) == set(d.keys())
        it = list(d)  # __iter__ -> #PROXY Iterator
        assert len(it) == len(d)
        del d["u"]
        assert "u" not in d
        v = d._getvalue()
        assert isinstance(v, dict) and v["k"] == "v"
        assert "'k': " in str(d) and "v'" in str(d)
        d.clear()
        assert len(d) == 0

    @check("dict KeyError")
    def _():
        d = m.dict()
        e = raises(KeyError, lambda: d["missing"])
        assert e.args == ("missing",)
        raises(KeyError, d.popitem)
        try:
            d[[1]] = 2
        except TypeError:
            pass
        else:
            raise AssertionError("unhashable key accepted")

    @check("list")
    def _():
        l = m.list([3, 1, 2])
        l.append(4)
        l.extend((5, 6))
        assert len(l) == 6 and l[0] == 3 and l[-1] == 6
        assert l[1:3] == [1, 2] and l[::-2] == [6, 4, 1]
        l[0] = 0
        l[1:3] = ["a", "b", "c"]
        assert l[:] == [0, "a", "b", "c", 4, 5, 6]
        del l[1:4]
        assert l[:] == [0, 4, 5, 6]
        l.insert(1, 9)
        assert l.index(9) == 1 and l.count(5) == 1 and 6 in l
        assert l.pop() == 6 and l.pop(0) == 0
        l.remove(9)
        raises(ValueError, l.remove, 42)
        raises(IndexError, lambda: l[10])
        l.sort(reverse=True)
        assert l[:] == [5, 4]
        l.reverse()
        assert l + [1] == [4, 5, 1] and l * 2 == [4, 5, 4, 5]
        l += [7]
        l *= 2
        assert l._getvalue() == [4, 5, 7, 4, 5, 7]
        assert str(l) == "[4, 5, 7, 4, 5, 7]"

    @check("list sort(key) and reversed")
    def _():
        import operator
        l = m.list([-3, 1, 2])
        l.sort(key=abs)
        assert l[:] == [1, 2, -3], l[:]
        l.sort(key=operator.neg)
        assert l[:] == [2, 1, -3], l[:]
        assert list(reversed(l)) == [-3, 1, 2]
        w = m.list([u"bb", u"A", u"c", u"BB"])
        w.sort(key=len)
        assert w[:] == [u"A", u"c", u"bb", u"BB"], w[:]
        if PY2:  # Python 2 cannot pickle str.lower or itemgetter
            return
        w.sort(key=str.lower)
        assert w[:] == ["A", "bb", "BB", "c"], w[:]
        t = m.list([(1, "a"), (0, "b"), (1, "c")])
        t.sort(key=operator.itemgetter(0), reverse=True)  # stable: equal keys keep their order
        assert t[:] == [(1, "a"), (1, "c"), (0, "b")], t[:]
        t.sort(key=operator.itemgetter(1, 0))
        assert t[:] == [(1, "a"), (0, "b"), (1, "c")], t[:]
        raises(TypeError, t.sort, key=max)  # a callable mpwire cannot evaluate

    @check("hostile sizes (cyclic repr, list * n, str.strip key, long timeouts)")
    def _():
        # A list holding itself twice: str() is CPython's repr, at once (it held the server ~50 s).
        x = []
        x.append(x)
        x.append(x)
        l = m.list()
        l.append(x)
        t = time.time()
        assert str(l) == repr([x]), str(l)
        # list * n: nothing to repeat returns at once; a result too large is CPython's MemoryError.
        e = m.list()
        e *= 10 ** 9
        assert len(e) == 0 and e * 10 ** 9 == []
        one = m.list([1])
        assert one * 3 == [1, 1, 1] and one * -1 == []
        raises(MemoryError, one.__mul__, 10 ** 15)
        raises(OverflowError, one.__mul__, 10 ** 20)
        assert len(one) == 1
        assert time.time() - t < 2, time.time() - t
        if not PY2:  # Python 2 cannot pickle str.strip
            items = [u"a" + u" " * 200000 + u"a", u"\x1cb", u" \u3000c\ufeff", u"\x85"]
            s = m.list(items)
            t = time.time()
            s.sort(key=str.strip)
            assert time.time() - t < 2, time.time() - t
            assert s[:] == sorted(items, key=str.strip)
        # Timeouts past setTimeout's 2**31 ms (~24.8 days) wait (they ended after 1 ms).
        q = m.Queue()
        threading.Timer(0.3, q.put, ("late",)).start()
        assert q.get(timeout=3e6) == "late"
        ev = m.Event()
        threading.Timer(0.3, ev.set).start()
        assert ev.wait(3e6) is True

    if sys.version_info >= (3, 14):
        @check("set (3.14+)")
        def _():
            s = m.set({1, 2, 3})
            assert len(s) == 3 and 2 in s and 9 not in s
            assert s | {4} == {1, 2, 3, 4} and {5} | s == {1, 2, 3, 5}
            assert s & {1, 9} == {1} and s - {1} == {2, 3} and s ^ {1, 7} == {2, 3, 7}
            assert s <= {1, 2, 3, 4} and not s < {1, 2, 3} and s >= {1} and s > {1}
            s |= {10}
            s &= {1, 2, 10}
            s -= {1}
            s ^= {3}
            assert s.copy() == {2, 3, 10} and isinstance(s.copy(), set)
            s.add(7)
            s.discard(100)
            s.remove(7)
            raises(KeyError, s.remove, 100)
            assert sorted(iter(s)) == [2, 3, 10]
            assert s.union([1], [2]) == {1, 2, 3, 10} and s.intersection([2, 3], [3]) == {3}
            assert s.difference([2]) == {3, 10} and s.symmetric_difference([3, 4]) == {2, 4, 10}
            assert s.issubset([2, 3, 10, 11]) and s.issuperset([2]) and s.isdisjoint([99])
            s.update([5], [6])
            s.difference_update([5])
            s.symmetric_difference_update([6, 8])
            s.intersection_update([8, 10, 2, 3])
            assert s._getvalue() == {2, 3, 8, 10}
            raises(TypeError, s.add, [1])
            assert s.pop() in {2, 3, 8, 10} and len(s) == 3
            s.clear()
            raises(KeyError, s.pop)
            assert str(s) == "set()"

        @check("dict and list 3.14 methods")
        def _():
            d = m.dict({"a": 1, "b": 2})
            assert d | {"c": 3} == {"a": 1, "b": 2, "c": 3}
            assert list(({"c": 3} | d).keys()) == ["c", "a", "b"]
            d |= {"z": 9}
            assert d.copy() == {"a": 1, "b": 2, "z": 9}
            assert list(reversed(d)) == ["z", "b", "a"]
            assert d.fromkeys(["x", "y"], 0) == {"x": 0, "y": 0}
            l = m.list([1, 2])
            assert l.copy() == [1, 2]
            l.clear()
            assert len(l) == 0

    @check("Queue")
    def _():
        q = m.Queue()
        q.put(1)
        q.put({"x": (1, 2.5)})
        assert q.qsize() == 2 and not q.empty()
        assert q.get() == 1 and q.get(timeout=1) == {"x": (1, 2.5)}
        raises(queue.Empty, q.get_nowait)
        raises(queue.Empty, q.get, False)
        t0 = time.time()
        raises(queue.Empty, q.get, True, 0.3)
        dt = time.time() - t0
        assert 0.25 <= dt < 2.0, dt
        b = m.Queue(1)
        b.put_nowait("a")
        assert b.full()
        raises(queue.Full, b.put_nowait, "b")
        raises(queue.Full, b.put, "b", True, 0.1)

    @check("Queue blocking get woken by another thread")
    def _():
        q = m.Queue()
        threading.Timer(0.2, lambda: q.put("late")).start()
        assert q.get(timeout=5) == "late"

    @check("JoinableQueue")
    def _():
        q = m.JoinableQueue()
        q.put(1)
        q.put(2)
        q.get()
        q.task_done()
        q.get()
        q.task_done()
        q.join()
        raises(ValueError, q.task_done)

    @check("Namespace")
    def _():
        ns = m.Namespace(a=1)
        ns.b = "two"
        assert ns.a == 1 and ns.b == "two"
        raises(AttributeError, lambda: ns.nope)
        del ns.a
        raises(AttributeError, lambda: ns.a)
        assert "Namespace(b=" in str(ns) and "two'" in str(ns)
        assert ns._getvalue().b == "two"

    @check("Value")
    def _():
        v = m.Value("i", 5)
        assert v.value == 5
        v.value = 7
        assert v.get() == 7
        v.set(2.5)
        assert v.value == 2.5
        assert v._getvalue().get() == 2.5

    @check("Array")
    def _():
        a = m.Array("i", [1, 2, 3])
        assert len(a) == 3 and a[0] == 1 and a[-1] == 3
        a[1] = 20
        got = a[:]
        assert list(got) == [1, 20, 3], repr(got)
        raises(IndexError, lambda: a[5])

    @check("Lock")
    def _():
        lk = m.Lock()
        assert lk.acquire()
        assert lk.acquire(False) is False
        if not PY2:
            t0 = time.time()
            assert lk.acquire(timeout=0.2) is False
            assert time.time() - t0 >= 0.15
        lk.release()
        with lk:
            pass
        raises(Exception, lk.release)

    @check("RLock")
    def _():
        r = m.RLock()
        assert r.acquire() and r.acquire()
        r.release()
        r.release()
        raises(Exception, r.release)

    @check("Semaphore")
    def _():
        s = m.Semaphore(2)
        assert s.acquire() and s.acquire()
        assert s.acquire(False) is False
        s.release()
        assert s.acquire(False) is True
        bs = m.BoundedSemaphore(1)
        raises(ValueError, bs.release)

    @check("Event")
    def _():
        e = m.Event()
        assert not e.is_set()
        assert e.wait(0.1) is False
        threading.Timer(0.2, e.set).start()
        assert e.wait(5) is True and e.is_set()
        e.clear()
        assert not e.is_set()

    @check("Condition")
    def _():
        c = m.Condition()
        got = []

        def waiter():
            with c:
                got.append(c.wait(5))

        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.3)
        with c:
            c.notify()
        t.join(6)
        assert got == [True], got
        with c:
            assert c.wait(0.1) is False

    if not PY2:
        @check("Barrier")
        def _():
            b = m.Barrier(2)
            assert b.parties == 2 and b.n_waiting == 0 and not b.broken
            res = []
            t = threading.Thread(target=lambda: res.append(b.wait(5)))
            t.start()
            res.append(b.wait(5))
            t.join(6)
            assert sorted(res) == [0, 1], res
            b2 = m.Barrier(2)
            raises(threading.BrokenBarrierError, b2.wait, 0.1)

        @check("nested proxies")
        def _():
            # Proxies rebuilt from a pickle authenticate with the process's key (as with a Python server).
            import multiprocessing
            multiprocessing.current_process().authkey = authkey
            outer = m.list()
            inner = m.dict()
            inner["k"] = 1
            outer.append(inner)
            got = outer[0]
            got["k"] = 2
            assert inner["k"] == 2

    @check("errors (unexposed method, unknown typeid)")
    def _():
        d = m.dict()
        e = raises(RemoteError, d._callmethod, "nope")
        assert "not in exposed" in str(e), str(e)
        conn = m._Client(address, authkey=authkey)
        from multiprocessing.managers import dispatch
        raises(RemoteError, dispatch, conn, None, "create", ("NoSuchType",))
        conn.close()
        conn = m._Client(address, authkey=authkey)
        e = raises(RemoteError, dispatch, conn, None, "bogus")
        assert "unrecognized" in str(e)
        conn.close()

    gc.collect()
    time.sleep(0.2)
    out("NOBJ {0}".format(m._number_of_objects()))


def custom_checks():
    class M(BaseManager):
        pass

    M.register("get_queue")
    M.register("get_calc")
    M.register("Calc", create_method=False)
    M.register("get_lock", proxytype=AcquirerProxy)
    m = M(address, authkey)
    m.connect()

    @check("custom get_queue")
    def _():
        q = m.get_queue()
        q.put({"job": 1})
        assert q.get(timeout=2) == {"job": 1}
        raises(queue.Empty, q.get, True, 0.1)

    @check("custom JS object")
    def _():
        c = m.get_calc(10)
        assert c.add(1, 2) == 13
        assert c.greet("ann", greeting="hi") == "hi ann"
        raises(KeyError, c.missing, "x")
        e = raises(RemoteError, c.boom)
        assert "kaboom" in str(e), str(e)
        assert c.later(0.05) == "slept"
        child = c.child(5)  # method_to_typeid -> #PROXY
        assert child.add(1, 1) == 7
        raises(Exception, c._callmethod, "secret")

    gc.collect()
    time.sleep(0.2)
    out("NOBJ {0}".format(m._number_of_objects()))


def counter_worker():
    class M(BaseManager):
        pass

    M.register("get_counter", proxytype=ValueProxy)
    M.register("get_lock", proxytype=AcquirerProxy)
    m = M(address, authkey)
    m.connect()
    v = m.get_counter()
    lk = m.get_lock()
    for _ in range(int(extra[0])):
        with lk:
            v.value = v.value + 1
    out("DONE-COUNT")


def queue_worker():
    """consume from get_jobs until None; record each item into get_results."""
    class M(BaseManager):
        pass

    M.register("get_jobs")
    M.register("get_results", proxytype=ListProxy)
    m = M(address, authkey)
    m.connect()
    jobs = m.get_jobs()
    results = m.get_results()
    out("READY")
    n = 0
    while True:
        item = jobs.get(timeout=20)
        if item is None:
            break
        results.append(item)
        n += 1
    out("CONSUMED {0}".format(n))


def blocked_get():
    class M(BaseManager):
        pass

    M.register("get_jobs")
    m = M(address, authkey)
    m.connect()
    jobs = m.get_jobs()
    out("BLOCKING")
    jobs.get()
    out("GOT-ITEM")


def xmlrpc_checks():
    """The same operations against a serializer='xmlrpclib' server, one result line each.

    With "cpython" as the first extra argument the client starts CPython's own SyncManager with
    serializer='xmlrpclib' and runs them there, so the suite can compare the two servers.
    """
    if extra and extra[0] == "cpython":
        m = SyncManager(("127.0.0.1", 0), authkey, serializer="xmlrpclib")
        m.start()
    else:
        m = SyncManager(address, authkey, serializer="xmlrpclib")
        m.connect()

    def show(v):
        if isinstance(v, dict):
            return "{" + ", ".join(show(k) + ": " + show(v[k]) for k in sorted(v)) + "}"
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(show(x) for x in v) + "]"
        return repr(v)

    def step(name, fn):
        try:
            out("R {0} = {1}".format(name, show(fn())))
        except Exception as e:
            text = [x for x in str(e).splitlines() if x.strip(" -")] if isinstance(e, RemoteError) else []
            out("E {0} = {1}{2}".format(name, type(e).__name__, ": " + text[-1].strip() if text else ""))

    def typed(v):
        # Each scalar with its type name: 1.0 and 1 must not read back as one another.
        if isinstance(v, list):
            return [typed(x) for x in v]
        return [v, type(v).__name__]

    d = m.dict()
    step("dict set", lambda: d.__setitem__("a", [1, "x", 2.5, True, None]))
    step("dict get", lambda: d["a"])
    step("dict get default", lambda: d.get("zz", 7))
    step("dict len", lambda: len(d))
    step("dict contains", lambda: "a" in d)
    step("dict copy", lambda: d.copy())
    step("dict update", lambda: d.update({"b": {"n": 1}}))
    step("dict items", lambda: sorted(d.items()))
    step("dict missing", lambda: d["zz"])
    step("dict pop", lambda: d.pop("b"))
    # Floats keep their type and value, integral ones beyond 32 bits included (an <int> cannot hold them).
    for key, f in [("1.0", 1.0), ("[1.0, 2.5]", [1.0, 2.5]), ("2.0**31", 2.0 ** 31), ("1e16", 1e16), ("1e300", 1e300)]:
        step("float set " + key, lambda key=key, f=f: d.__setitem__(key, f))
        step("float get " + key, lambda key=key: typed(d[key]))
    lf = m.list([1.0, 2.5, 1e16])
    step("float list count", lambda: lf.count(1))
    step("float list value", lambda: typed(lf._getvalue()))
    vf = m.Value("d", 2.0 ** 31)
    step("float value get", lambda: typed(vf.value))
    l = m.list([3, 1, 2])
    step("list append", lambda: l.append(4))
    step("list getitem", lambda: l[0])
    step("list len", lambda: len(l))
    step("list sort", lambda: l.sort())
    step("list value", lambda: l._getvalue())
    step("list index error", lambda: l[10])
    q = m.Queue()
    step("queue put", lambda: q.put({"job": 1}))
    step("queue qsize", lambda: q.qsize())
    step("queue get", lambda: q.get(timeout=1))
    step("queue empty get", lambda: q.get(timeout=0.1))
    ns = m.Namespace()
    step("namespace set", lambda: setattr(ns, "x", 5))
    step("namespace get", lambda: ns.x)
    v = m.Value("i", 3)
    step("value get", lambda: v.value)
    step("value set", lambda: setattr(v, "value", 7))
    step("value get again", lambda: v.value)
    lk = m.Lock()
    step("lock acquire", lambda: lk.acquire())
    step("lock release", lambda: lk.release())
    step("lock release unlocked", lambda: lk.release())
    ev = m.Event()
    step("event set", lambda: ev.set())
    step("event wait", lambda: ev.wait(0.1))
    a = m.Array("i", [1, 2])
    step("array len", lambda: len(a))
    step("array getitem", lambda: a[1])
    step("number of objects", lambda: m._number_of_objects() > 0)
    if extra and extra[0] == "cpython":
        m.shutdown()


def xmlrpc_void():
    """A serializer='xmlrpclib' client calling a JS method that returns nothing (undefined)."""
    class M(BaseManager):
        pass

    M.register("get_notes")
    m = M(address, authkey, serializer="xmlrpclib")
    m.connect()
    notes = m.get_notes()
    out("VOID {0!r} {1!r}".format(notes.add("x"), notes.count()))
    del notes


def rhel_client():
    """A client speaking Red Hat's raw HMAC-SHA256 handshake (peer.py's emulation)."""
    import os
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers"))
    from peer import use_rhel_dialect
    use_rhel_dialect()
    m = SyncManager(address, authkey)
    m.connect()
    d = m.dict()
    d["k"] = [1, 2]
    q = m.Queue()
    q.put("job")
    out("RHEL {0} {1}".format(d["k"], q.get(timeout=2)))


def wrong_key():
    m = SyncManager(address, b"wrong-" + authkey)
    try:
        m.connect()
    except Exception as e:
        out("REFUSED " + type(e).__name__)
    else:
        out("ACCEPTED")


def shutdown():
    from multiprocessing.connection import Client
    from multiprocessing.managers import dispatch
    conn = Client(address, authkey=authkey)
    conn.send((None, "shutdown", (), {}))
    a = conn.recv()
    b = conn.recv()
    try:
        conn.recv()
        out("NO-EOF")
    except EOFError:
        out("SHUTDOWN {0} {1}".format(a[0], b[0]))


if __name__ == "__main__":
    {
        "sync": sync_checks,
        "custom": custom_checks,
        "counter": counter_worker,
        "queue": queue_worker,
        "blocked": blocked_get,
        "wrongkey": wrong_key,
        "xmlrpc": xmlrpc_checks,
        "xmlrpc-void": xmlrpc_void,
        "rhel": rhel_client,
        "shutdown": shutdown,
    }[mode]()
    out("DONE")
