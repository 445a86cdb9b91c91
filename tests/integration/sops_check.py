#!/usr/bin/env python3
"""An independent SOPS implementation for the tests: python3-cryptography
for AES-256-GCM and SHA-512, the `age` CLI for the data key. Nothing here
is shared with gitopsfs' C code.

  sops_check.py decrypt FILE KEYFILE   verify the MAC, print the plaintext
                                       document as JSON (exit 1 on failure)
  sops_check.py encrypt FILE RECIPIENT encrypt data/stringData of a plain
                                       Secret manifest the way sops does,
                                       print the SOPS YAML
"""
import base64
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys

import yaml
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENC = re.compile(r'^ENC\[AES256_GCM,data:(.*),iv:(.*),tag:(.*),type:(.*)\]$')


def to_bytes(v):
    """sops' ToBytes."""
    if isinstance(v, bool):
        return b'True' if v else b'False'
    if isinstance(v, (int, float)):
        return str(v).encode()
    return str(v).encode()


def walk(node, path, fn):
    """sops' walkBranch: leaves in document order, list elements sharing
    their list's path, null skipped."""
    if isinstance(node, dict):
        for k in list(node):
            if not path and k == 'sops':
                continue
            v = node[k]
            if isinstance(v, (dict, list)):
                walk(v, path + [k], fn)
            elif v is not None:
                node[k] = fn(v, path + [k])
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, (dict, list)):
                walk(v, path, fn)
            elif v is not None:
                node[i] = fn(v, path)


def gcm_open(key, s, aad):
    m = ENC.match(s)
    data, iv, tag, typ = (base64.b64decode(m.group(1)), base64.b64decode(m.group(2)),
                          base64.b64decode(m.group(3)), m.group(4))
    plain = AESGCM(key).decrypt(iv, data + tag, aad.encode()).decode()
    return {'str': lambda x: x, 'int': int, 'float': float,
            'bool': lambda x: x == 'True'}[typ](plain)


def gcm_seal(key, v, aad):
    typ = {bool: 'bool', int: 'int', float: 'float'}.get(type(v), 'str')
    iv = os.urandom(32)
    out = AESGCM(key).encrypt(iv, to_bytes(v), aad.encode())
    b = base64.b64encode
    return 'ENC[AES256_GCM,data:%s,iv:%s,tag:%s,type:%s]' % (
        b(out[:-16]).decode(), b(iv).decode(), b(out[-16:]).decode(), typ)


def decrypt(path, keyfile):
    doc = yaml.safe_load(open(path))
    meta = doc['sops']
    key = None
    for entry in meta['age']:
        r = subprocess.run(['age', '-d', '-i', keyfile], input=entry['enc'].encode(),
                           capture_output=True)
        if r.returncode == 0:
            key = r.stdout
            break
    if key is None:
        sys.exit('no identity opens the data key')
    h = hashlib.sha512()

    def leaf(v, p):
        if isinstance(v, str) and v.startswith('ENC[AES256_GCM,'):
            v = gcm_open(key, v, ':'.join(p) + ':')
        h.update(to_bytes(v))
        return v
    walk(doc, [], leaf)
    lm = meta['lastmodified']
    if isinstance(lm, datetime.datetime):
        lm = lm.strftime('%Y-%m-%dT%H:%M:%SZ')
    mac = gcm_open(key, meta['mac'], lm)
    if mac != h.hexdigest().upper():
        sys.exit('MAC mismatch')
    del doc['sops']
    print(json.dumps(doc, sort_keys=True))


def encrypt(path, recipient):
    doc = yaml.safe_load(open(path))
    key = os.urandom(32)
    h = hashlib.sha512()

    def leaf(v, p):
        h.update(to_bytes(v))
        if any(re.match(r'^(data|stringData)$', k) for k in p) and v != '':
            return gcm_seal(key, v, ':'.join(p) + ':')
        return v
    walk(doc, [], leaf)
    lm = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    enc = subprocess.run(['age', '-a', '-r', recipient], input=key, capture_output=True,
                         check=True).stdout.decode()
    doc['sops'] = {
        'age': [{'recipient': recipient, 'enc': enc}],
        'lastmodified': lm,
        'mac': gcm_seal(key, h.hexdigest().upper(), lm),
        'encrypted_regex': '^(data|stringData)$',
        'version': '3.9.0',
    }
    sys.stdout.write(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False))


if __name__ == '__main__':
    {'decrypt': decrypt, 'encrypt': encrypt}[sys.argv[1]](*sys.argv[2:])
