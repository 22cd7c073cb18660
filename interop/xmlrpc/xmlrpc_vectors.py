# -*- coding: utf-8 -*-
"""Golden vectors and a reader for mpwire's XML-RPC interop tests (stdlib only; Python 2.7, 3.6+).

Reads one JSON object from stdin: {"frames": [base64, ...]} -- frames written by mpwire's dumps.
Writes one JSON object to stdout:
  version     interpreter version
  vectors     what this interpreter's dumps((v,), None, None, None, 1) writes for each case value:
              {name, frame (base64 of the UTF-8 bytes), sent (description of v), loaded (description
              of what loads(frame) gives back)}
  documents   full documents (methodCall / methodResponse / fault) from dumps with options:
              {name, text, params, options, loaded}
  inputs      hand-written XML-RPC inputs and what this interpreter's loads makes of them:
              {name, xml, result: {params, methodname} | {error, message}}
  errors      values this interpreter refuses to marshal: {name, error}
  ours        for every frame received on stdin: {loaded | error, redump (base64 of dumps of what was loaded)}

Values are described as tagged JSON: {"t": "int"|"float"|"bool"|"nil"|"str"|"bytes"|"datetime"|
"decimal"|"list"|"dict", "v": ...}; ints and floats as text (repr), dicts as [key, value] pairs in
iteration order. One process serves every case (one process per interpreter).
"""
from __future__ import print_function, unicode_literals

import base64
import datetime
import json
import sys

PY2 = sys.version_info[0] == 2
if PY2:
    import xmlrpclib as xc
    text_type = unicode  # noqa: F821
    int_types = (int, long)  # noqa: F821
else:
    import xmlrpc.client as xc
    text_type = str
    int_types = (int,)

try:
    from decimal import Decimal
except ImportError:  # pragma: no cover
    Decimal = None


def b64(data):
    return base64.b64encode(data).decode('ascii')


def describe(v):
    if v is None:
        return {'t': 'nil'}
    if isinstance(v, bool):
        return {'t': 'bool', 'v': v}
    if isinstance(v, int_types):
        return {'t': 'int', 'v': str(v)}
    if isinstance(v, float):
        return {'t': 'float', 'v': repr(v)}
    if Decimal is not None and isinstance(v, Decimal):
        return {'t': 'decimal', 'v': str(v)}
    if isinstance(v, xc.Binary):
        return {'t': 'bytes', 'v': b64(v.data)}
    if isinstance(v, xc.DateTime):
        return {'t': 'datetime', 'v': v.value}
    if isinstance(v, datetime.datetime):
        return {'t': 'datetime', 'v': xc.DateTime(v).value}
    if isinstance(v, text_type):
        return {'t': 'str', 'v': v}
    if isinstance(v, bytes):
        if PY2:
            return {'t': 'str', 'v': v.decode('utf-8')}
        return {'t': 'bytes', 'v': b64(v)}
    if isinstance(v, (list, tuple)):
        return {'t': 'list', 'v': [describe(x) for x in v]}
    if isinstance(v, dict):
        return {'t': 'dict', 'v': [[k if isinstance(k, text_type) else k.decode('utf-8'), describe(x)] for k, x in v.items()]}
    raise TypeError('cannot describe %r' % (v,))


def frame_of(v):
    """Exactly what multiprocessing.connection's _xml_dumps sends."""
    s = xc.dumps((v,), None, None, None, 1)
    return s if PY2 else s.encode('utf-8')


def load_frame(frame):
    """Exactly what multiprocessing.connection's _xml_loads does (without the unpacking)."""
    params, method = xc.loads(frame if PY2 else frame.decode('utf-8'))
    return params, method


def binary(data):
    return xc.Binary(data) if PY2 else data


def error_of(e):
    return {'error': type(e).__name__, 'message': str(e)}


U = text_type


def nest(n):
    v = 1
    for _ in range(n):
        v = [v]
    return v

ordered = {}
ordered['zeta'] = 1
ordered['alpha'] = [2.5, U('x')]
ordered['mid'] = {'inner': None}

CASES = [
    ('int_zero', 0),
    ('int_one', 1),
    ('int_minus_one', -1),
    ('int_max', 2 ** 31 - 1),
    ('int_min', -2 ** 31),
    ('bool_true', True),
    ('bool_false', False),
    ('none', None),
    ('str_empty', U('')),
    ('str_ascii', U('hello world')),
    ('str_escapes', U('<&>]]>')),
    ('str_quotes', U('"\' quoted')),
    ('str_emoji', U('\U0001F600')),
    ('str_emoji_mixed', U('a\U0001F600b\u00e9\u4e2d\U0010FFFF')),
    ('str_whitespace', U('  \t\n  ')),
    ('str_cr', U('a\rb\r\nc')),
    ('str_amp_entities', U('&amp; &lt; &#65;')),
    ('float_zero', 0.0),
    ('float_neg_zero', -0.0),
    ('float_tenth', 0.1),
    ('float_one', 1.0),
    ('float_1e16', 1e16),
    ('float_1e15', 1e15),
    ('float_1e_5', 1e-5),
    ('float_1e_4', 1e-4),
    ('float_max', 1.7976931348623157e308),
    ('float_min_subnormal', 5e-324),
    ('float_pi', 3.141592653589793),
    ('float_neg_small', -2.5e-10),
    ('float_123e20', 1.23e20),
    ('float_third', 1.0 / 3),
    ('float_2_53', 9007199254740993.0),
    ('float_inf', float('inf')),
    ('float_neg_inf', float('-inf')),
    ('float_nan', float('nan')),
    ('bytes_empty', binary(b'')),
    ('bytes_small', binary(b'\x00\xffhi')),
    ('bytes_57', binary(bytes(bytearray(range(57))))),
    ('bytes_58', binary(bytes(bytearray(range(58))))),
    ('bytes_512', binary(bytes(bytearray(range(256))) * 2)),
    ('datetime', datetime.datetime(2024, 1, 2, 3, 4, 5)),
    ('datetime_micro', datetime.datetime(2024, 1, 2, 3, 4, 5, 123456)),
    ('datetime_year1', datetime.datetime(1, 1, 1)),
    ('datetime_max', datetime.datetime(9999, 12, 31, 23, 59, 59)),
    ('datetime_leap', datetime.datetime(2000, 2, 29, 12, 0, 0)),
    ('list_empty', []),
    ('tuple', (1, U('a'), None)),
    ('list_nested', [[1, [2, [3, []]]]]),
    ('dict_empty', {}),
    ('dict_one', {'a': 1}),
    ('dict_escaped_key', {U('<k&>'): U('v')}),
    ('dict_emoji_key', {U('\U0001F600'): 1}),
    ('dict_nested', {'a': {'b': {'c': [1, {'d': None}]}}}),
    ('dict_ordered', ordered),
    ('mixed', [1, 2.5, U('x'), True, None, binary(b'\x01'), {'k': [U('\U0001F600')]},
               datetime.datetime(2000, 2, 29, 12, 0, 0)]),
    ('manager_request', (None, 'dummy', (), {})),
    ('deep_nesting', nest(300)),
    ('manager_reply', ('#RETURN', [1, 2, [3, 4]])),
]


def P(inner):
    return '<params><param><value>%s</value></param></params>' % inner


# (name, xml, minimum version) -- inputs only Python 3's unmarshaller understands are marked (3,)
INPUTS = [
    ('i4', P('<i4>7</i4>'), (2,)),
    ('i8', P('<i8>9007199254740993</i8>'), (2,)),
    ('i8_min', P('<i8>-9223372036854775808</i8>'), (2,)),
    ('ex_i8', P('<ex:i8>-9223372036854775808</ex:i8>'), (3,)),
    ('i1', P('<i1>1</i1>'), (3,)),
    ('i2', P('<i2>-300</i2>'), (3,)),
    ('biginteger', P('<biginteger>123456789012345678901234567890</biginteger>'), (3,)),
    ('int_whitespace', P('<int> 42\n</int>'), (2,)),
    ('int_plus', P('<int>+5</int>'), (2,)),
    ('int_leading_zero', P('<int>007</int>'), (2,)),
    ('int_underscore', P('<int>1_000</int>'), (3, 6)),
    ('nil', P('<nil/>'), (2,)),
    ('ex_nil', P('<ex:nil/>'), (3,)),
    ('double_whitespace', P('<double> 1.5 </double>'), (2,)),
    ('double_exp', P('<double>1E3</double>'), (2,)),
    ('double_int_text', P('<double>3</double>'), (2,)),
    ('double_dot', P('<double>.5</double>'), (2,)),
    ('double_trailing_dot', P('<double>5.</double>'), (2,)),
    ('double_infinity', P('<double>Infinity</double>'), (2,)),
    ('double_neg_inf', P('<double>-inf</double>'), (2,)),
    ('double_nan', P('<double>NaN</double>'), (2,)),
    ('double_huge', P('<double>1e999</double>'), (2,)),
    ('float_tag', P('<float>2.5</float>'), (3,)),
    ('bigdecimal', P('<bigdecimal>123.456</bigdecimal>'), (3,)),
    ('bare_value', P('bare text'), (2,)),
    ('empty_value', P(''), (2,)),
    ('self_closed_value', '<params><param><value/></param></params>', (2,)),
    ('self_closed_string', P('<string/>'), (2,)),
    ('cdata', P('<string><![CDATA[<&>]]></string>'), (2,)),
    ('comment_in_string', P('<string>a<!-- c -->b</string>'), (2,)),
    ('char_refs', P('<string>&#x1F600;&#60;&amp;&quot;&apos;&#233;</string>'), (2,)),
    ('crlf_in_string', P('<string>a\r\nb\rc</string>'), (2,)),
    ('boolean_true', P('<boolean>1</boolean>'), (2,)),
    ('datetime_whitespace', P('<dateTime.iso8601> 20240102T03:04:05 </dateTime.iso8601>'), (2,)),
    ('datetime_garbage', P('<dateTime.iso8601>garbage</dateTime.iso8601>'), (2,)),
    ('base64_lines', P('<base64>AP9o\naQ==\n</base64>'), (2,)),
    ('base64_junk_chars', P('<base64>Q!Q==</base64>'), (2,)),
    # binascii changed in 3.14: data after a complete pad is no longer dropped; mpwire follows 3.14.
    ('base64_data_after_pad', P('<base64>QUI=x</base64>'), (3, 14)),
    ('err_base64_data_after_pad', P('<base64>QQ==QUJD</base64>'), (3, 14)),
    ('base64_split_pad', P('<base64>QQ=\n=</base64>'), (3,)),
    ('xml_declaration', '<?xml version="1.0"?>\n' + P('<int>1</int>'), (2,)),
    ('processing_instruction', '<?pi data?>' + P('<int>1</int>'), (2,)),
    ('pretty_printed', '<params>\n  <param>\n    <value>\n      <array>\n        <data>\n          <value><int>1</int></value>\n'
                       '          <value>two</value>\n        </data>\n      </array>\n    </value>\n  </param>\n</params>\n', (2,)),
    ('unknown_tag_outside_value', '<params><foo>1</foo><param><value><int>1</int></value></param></params>', (2,)),
    ('attributes_ignored', '<params a="1"><param><value><int b="2">5</int></value></param></params>', (2,)),
    ('two_params', '<params><param><value><int>1</int></value></param><param><value>b</value></param></params>', (2,)),
    ('no_params', '<params></params>', (2,)),
    ('struct_duplicate_key', P('<struct><member><name>a</name><value><int>1</int></value></member>'
                               '<member><name>a</name><value><int>2</int></value></member></struct>'), (2,)),
    ('struct_numeric_keys', P('<struct><member><name>z</name><value>1</value></member>'
                              '<member><name>10</name><value>2</value></member><member><name>a</name><value>3</value></member></struct>'), (2,)),
    ('struct_proto_key', P('<struct><member><name>__proto__</name><value><int>1</int></value></member></struct>'), (2,)),
    ('array_without_data', P('<array><value><int>1</int></value></array>'), (2,)),
    ('methodcall', '<?xml version="1.0"?>\n<methodCall><methodName>foo.bar</methodName><params><param><value><int>1</int></value>'
                   '</param><param><value><string>x</string></value></param></params></methodCall>', (2,)),
    ('methodcall_no_params', '<methodCall><methodName>ping</methodName></methodCall>', (2,)),
    ('methodresponse', '<methodResponse><params><param><value><string>ok</string></value></param></params></methodResponse>', (2,)),
    ('fault', '<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>4</int></value></member>'
              '<member><name>faultString</name><value><string>Too many &lt;params&gt;</string></value></member></struct></value>'
              '</fault></methodResponse>', (2,)),
    ('fault_extra_member', '<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member>'
                           '<member><name>faultString</name><value>x</value></member><member><name>extra</name><value>y</value></member>'
                           '</struct></value></fault></methodResponse>', (2,)),
    # errors
    ('err_boolean', P('<boolean>2</boolean>'), (2,)),
    ('err_boolean_space', P('<boolean> 1</boolean>'), (2,)),
    ('err_int', P('<int>abc</int>'), (2,)),
    ('err_int_empty', P('<int></int>'), (2,)),
    ('err_int_float_text', P('<int>1.5</int>'), (2,)),
    ('err_double', P('<double>1.5x</double>'), (2,)),
    ('err_unknown_tag_in_value', P('<foo>1</foo>'), (2,)),
    ('err_not_xmlrpc', '<foo/>', (2,)),
    ('err_unclosed', '<params><param>', (2,)),
    ('err_two_roots', '<params/><params/>', (2,)),
    ('err_undefined_entity', P('<string>&foo;</string>'), (2,)),
    ('err_control_char', P('<string>\x01</string>'), (2,)),
    ('err_bad_char_ref', P('<string>&#1;</string>'), (2,)),
    ('err_empty', '', (2,)),
    ('err_text_only', 'hello', (2,)),
    ('err_base64_padding', P('<base64>QQ</base64>'), (3,)),
    ('err_base64_one_extra', P('<base64>QUJDR</base64>'), (3,)),
    ('err_fault_not_struct', '<methodResponse><fault><value><int>1</int></value></fault></methodResponse>', (2,)),
    ('err_mismatched_tag', '<params><param></params></param>', (2,)),
]

MARSHAL_ERRORS = [
    ('int_too_big', lambda: xc.dumps((2 ** 31,), None, None, None, 1)),
    ('int_too_small', lambda: xc.dumps((-2 ** 31 - 1,), None, None, None, 1)),
    ('int_huge', lambda: xc.dumps((2 ** 64,), None, None, None, 1)),
    ('none_not_allowed', lambda: xc.dumps((None,))),
    ('non_string_key', lambda: xc.dumps(({1: 'a'},), None, None, None, 1)),
    ('recursive_list', lambda: (lambda l: (l.append(l), xc.dumps((l,), None, None, None, 1)))([])),
    ('set', lambda: xc.dumps((set([1]),), None, None, None, 1)),
    ('response_not_singleton', lambda: xc.dumps((1, 2), methodresponse=True)),
]


def documents():
    docs = [
        ('call', (1, U('a')), {'methodname': 'examples.add'}),
        ('call_empty_params', (), {'methodname': 'ping'}),
        ('response', (42,), {'methodresponse': True}),
        ('response_allow_none', (None,), {'methodresponse': True, 'allow_none': True}),
        ('fault', xc.Fault(4, U('Too many <params>')), {}),
        ('latin1_header', (U('x'),), {'methodname': 'm', 'encoding': 'iso-8859-1'}),
        ('bare_with_encoding', (1,), {'encoding': 'iso-8859-1'}),
    ]
    if sys.version_info >= (3, 14):
        docs.append(('call_escaped_name', (1,), {'methodname': 'a<b&c'}))
    out = []
    for name, params, opts in docs:
        text = xc.dumps(params, opts.get('methodname'), opts.get('methodresponse'), opts.get('encoding'),
                        opts.get('allow_none', False))
        if PY2 and isinstance(text, bytes):
            text = text.decode('utf-8')
        if isinstance(params, xc.Fault):
            pdesc = {'fault': [describe(params.faultCode), describe(params.faultString)]}
        else:
            pdesc = [describe(p) for p in params]
        try:
            loaded = xc.loads(text)
            lres = {'params': [describe(p) for p in loaded[0]], 'methodname': loaded[1]}
        except xc.Fault as f:
            lres = {'error': 'Fault', 'faultCode': describe(f.faultCode), 'faultString': describe(f.faultString)}
        out.append({'name': name, 'text': text, 'params': pdesc, 'options': opts, 'loaded': lres})
    return out


def main():
    request = json.loads(sys.stdin.read() or '{}')
    v = sys.version_info
    result = {'version': '%d.%d.%d' % (v[0], v[1], v[2]), 'vectors': [], 'documents': documents(),
              'inputs': [], 'errors': [], 'ours': []}
    for name, value in CASES:
        frame = frame_of(value)
        params, _ = load_frame(frame)
        result['vectors'].append({'name': name, 'frame': b64(frame), 'sent': describe(value),
                                  'loaded': describe(params[0])})
    for name, xml, since in INPUTS:
        if v[:len(since)] < since:
            continue
        try:
            params, method = xc.loads(xml)
            res = {'params': [describe(p) for p in params], 'methodname': method}
        except xc.Fault as f:
            res = {'error': 'Fault', 'faultCode': describe(f.faultCode), 'faultString': describe(f.faultString)}
        except Exception as e:  # noqa: BLE001 -- recording what this interpreter raises is the point
            res = error_of(e)
        result['inputs'].append({'name': name, 'xml': xml, 'result': res})
    for name, thunk in MARSHAL_ERRORS:
        try:
            thunk()
            result['errors'].append({'name': name, 'error': None})
        except Exception as e:  # noqa: BLE001
            result['errors'].append({'name': name, 'error': type(e).__name__})
    for fb64 in request.get('frames', []):
        frame = base64.b64decode(fb64)
        try:
            params, _ = load_frame(frame)
            redump = b64(xc.dumps(tuple(params), None, None, None, 1) if PY2 else
                         xc.dumps(tuple(params), None, None, None, 1).encode('utf-8'))
            result['ours'].append({'loaded': [describe(p) for p in params], 'redump': redump})
        except Exception as e:  # noqa: BLE001
            result['ours'].append(error_of(e))
    out = json.dumps(result, sort_keys=True)
    if PY2:
        sys.stdout.write(out)
    else:
        sys.stdout.write(out)
    sys.stdout.flush()


if __name__ == '__main__':
    main()
