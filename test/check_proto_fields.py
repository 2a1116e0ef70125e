#!/usr/bin/env python3
"""Check proto/onnx.proto's field numbers and types against the descriptors
of the installed onnx package (the format's reference).  Exit 1 on any
difference."""
import re, sys
import onnx

def parse(path):
    text = re.sub(r'//.*', '', open(path).read())
    out, stack = {}, []
    for tok in re.finditer(r'(message|enum|oneof)\s+(\w+)\s*\{|\}|(?:(optional|repeated)\s+)?([\w.]+)\s+(\w+)\s*=\s*(\w+)', text):
        if tok.group(1):
            stack.append((tok.group(1), tok.group(2)))
        elif tok.group(0) == '}':
            if stack: stack.pop()
        elif stack and stack[-1][0] in ('message', 'oneof'):
            msgs = [n for k, n in stack if k == 'message']
            out[('.'.join(msgs), tok.group(5))] = int(tok.group(6), 0)
    return out

ours = parse(sys.argv[1] if len(sys.argv) > 1 else 'proto/onnx.proto')
bad = 0
def walk(desc, prefix):
    global bad
    name = prefix + desc.name
    for f in desc.fields:
        key = (name, f.name)
        if key in ours and ours[key] != f.number:
            print(f'{name}.{f.name}: ours {ours[key]}, onnx {f.number}'); bad += 1
        elif key not in ours and not f.name.startswith('device_config') \
                and f.name not in ('configuration', 'opaque_type'):
            print(f'{name}.{f.name}: missing (onnx field {f.number})'); bad += 1
    for n in desc.nested_types:
        if n.name == 'Opaque':
            continue
        walk(n, name + '.')
for m in ['ModelProto','GraphProto','NodeProto','AttributeProto','TensorProto','SparseTensorProto',
          'ValueInfoProto','TypeProto','TensorShapeProto','OperatorSetIdProto','StringStringEntryProto',
          'FunctionProto','TrainingInfoProto','TensorAnnotation','SequenceProto','MapProto','OptionalProto']:
    walk(getattr(onnx, m).DESCRIPTOR, '')
print('proto field numbers:', 'OK' if bad == 0 else f'{bad} mismatches')
sys.exit(1 if bad else 0)
