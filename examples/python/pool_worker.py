# A worker of examples/python-worker-pool.mjs. Standard library plus mpwire_child, the helper module
# that ships with mpwire (spawnPython puts it on PYTHONPATH); CPython 2.7 and 3.6 to 3.15.
import mpwire_child


def count_primes(below):
    if below < 0:
        raise ValueError('expected a non-negative bound, got %d' % below)
    sieve = bytearray([1]) * max(below, 2)
    sieve[0] = sieve[1] = 0
    for i in range(2, int(below ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = bytearray(len(range(i * i, below, i)))
    return sum(sieve[:below])


mpwire_child.serve({'count_primes': count_primes})
