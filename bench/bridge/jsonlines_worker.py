# python-shell-style worker: one JSON request per stdin line, one JSON answer per stdout line.
import json
import sys


def echo(x):
    return x


HANDLERS = {'echo': echo}
for line in sys.stdin:
    req = json.loads(line)
    try:
        out = {'id': req['id'], 'result': HANDLERS[req['name']](*req['args'])}
    except Exception as e:
        out = {'id': req['id'], 'error': repr(e)}
    sys.stdout.write(json.dumps(out) + '\n')
    sys.stdout.flush()
