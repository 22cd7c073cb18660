"""Benchmark workloads for mpwire's pickle codec (stdlib only, Python 3.8+).

  python workloads.py <outdir> small   prints per-call loads/dumps times of small messages
                                       (with each pickle in hex) instead
  python workloads.py <outdir>   writes <name>.pkl (protocol 4) and <name>.json for every
                                 workload, then prints one JSON line per workload with the best
                                 loads/dumps time in seconds of this interpreter's C pickle.
"""
import json
import os
import pickle
import sys
import time
import timeit


def workloads():
    dicts = [{'id': i, 'name': 'user%d' % i, 'score': i * 0.5, 'active': i % 3 == 0, 'tags': ['a', 'b']}
             for i in range(10000)]
    ints = [(i * 7919) % 1000003 - 500000 for i in range(1000000)]
    blob = bytes(range(256)) * (16 * 1024 * 4)
    nested = []
    cur = nested
    for i in range(200):
        nxt = []
        cur.append({'level': i, 'items': [i, str(i), (i, i + 1)], 'child': nxt})
        cur = nxt
    tuples = [(i, 'x%d' % i, i * 0.5, (i % 7, None)) for i in range(10000)]
    return {'dicts_10k': dicts, 'ints_1m': ints, 'bytes_16m': blob, 'nested_200': nested, 'tuples_10k': tuples}


def best(f, budget=1.0, min_runs=3):
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < budget:
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
        if len(times) >= 200:
            break
    return min(times)


def main():
    out = sys.argv[1]
    for name, v in workloads().items():
        data = pickle.dumps(v, 4)
        with open(os.path.join(out, name + '.pkl'), 'wb') as f:
            f.write(data)
        if name != 'bytes_16m':
            with open(os.path.join(out, name + '.json'), 'w') as f:
                json.dump(v, f)
        res = {
            'name': name,
            'size': len(data),
            'loads': best(lambda: pickle.loads(data)),
            'dumps': best(lambda: pickle.dumps(v, 4)),
        }
        sys.stdout.write(json.dumps(res) + '\n')
        sys.stdout.flush()


# Small messages: what a worker or a manager sends most often. Timed per call, as the per-call
# overhead (not the bytes) decides these.
SMALL = {
    'small_empty_dict': {},
    'small_dict': {'a': 1, 'b': 'x'},
    'small_reply': ('#RETURN', 42),
    'small_record': {'id': 1, 'name': 'n', 'score': 1.5, 'tags': ['a', 'b']},
}


def per_call(f, number=100000):
    best_total = min(timeit.repeat(f, number=number, repeat=3))
    return best_total / number


def small():
    for name, v in SMALL.items():
        data = pickle.dumps(v, 4)
        res = {'name': name, 'size': len(data), 'hex': data.hex(),
               'loads': per_call(lambda: pickle.loads(data)),
               'dumps': per_call(lambda: pickle.dumps(v, 4))}
        sys.stdout.write(json.dumps(res) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    if len(sys.argv) > 2 and sys.argv[2] == 'small':
        small()
        sys.exit(0)
    main()
