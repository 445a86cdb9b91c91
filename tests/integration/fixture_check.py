#!/usr/bin/env python3
"""Invariants of the mount over every object in a cluster (SPEC sections 4 and 5), checked
against the API server itself, for tests/integration/t_fixtures.sh:

    fixture_check.py --url URL --token T --ca CA readback MNT   every object file equals the
                                                                 server's object as section 4
                                                                 renders it, and every object
                                                                 the mount should show has a file
    fixture_check.py ... rewrite MNT       writes every object file back with its own bytes
    fixture_check.py ... edit MNT          adds one label to every object through its file and
                                           checks that the server's object changed in that label
                                           (and what the server itself bumps) and nothing else

Prints one line per failure (`not ok`-free: the shell test turns the exit code into TAP), then
a summary line; exits 1 on any failure.
"""
import argparse
import copy
import http.client
import json
import os
import ssl
import sys
import urllib.parse

import yaml

SERVER_METADATA = ('uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields',
                   'selfLink')
HIDDEN_ANNOTATIONS = ('kubectl.kubernetes.io/last-applied-configuration',
                      'deployment.kubernetes.io/revision')
EXCLUDED = {'events', 'events.events.k8s.io', 'endpoints', 'endpointslices.discovery.k8s.io',
            'leases.coordination.k8s.io'}
LABEL = 'gitopsfs.test/edited'


class Loader(yaml.SafeLoader):
    """YAML as Kubernetes (go-yaml) reads it: timestamps stay strings, and `=` is a string,
    not PyYAML's YAML 1.1 !!value."""


Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v
        if tag not in ('tag:yaml.org,2002:timestamp', 'tag:yaml.org,2002:value')]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}


class Api:
    def __init__(self, url, token, ca):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=ca)
        self.headers = {'Authorization': 'Bearer ' + token, 'Accept': 'application/json'}
        self.conn = None

    def get(self, path):
        for _ in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection(self.host, self.port,
                                                            context=self.ctx, timeout=30)
                self.conn.request('GET', path, headers=self.headers)
                r = self.conn.getresponse()
                body = r.read()
                return r.status, json.loads(body) if body else None
            except (http.client.HTTPException, OSError):
                self.conn = None
        raise RuntimeError('GET %s failed' % path)

    def resources(self):
        """dirname -> (api path of the watched version, plural, namespaced, kind)."""
        out = {}
        groups = [('', '/api/v1')]
        _, apis = self.get('/apis')
        for g in apis['groups']:
            # Every version, preferred first: a resource appears at the first that serves it.
            vs = [g['preferredVersion']['groupVersion']] + [
                v['groupVersion'] for v in g['versions']
                if v['groupVersion'] != g['preferredVersion']['groupVersion']]
            groups += [(g['name'], '/apis/' + gv) for gv in vs]
        for group, path in groups:
            status, rl = self.get(path)
            if status != 200:
                continue
            for r in rl['resources']:
                if '/' in r['name'] or not {'list', 'watch'} <= set(r.get('verbs', [])):
                    continue
                dirname = r['name'] + ('.' + group if group else '')
                out.setdefault(dirname, (path, r['name'], r['namespaced'], r['kind']))
        return out


def object_url(res, path):
    parts = path.split('/')
    top, dirname, name = parts[0], parts[1], parts[2][:-len('.yaml')]
    api, plural, namespaced, _ = res[dirname]
    ns = '' if top == '_cluster' else '/namespaces/' + top
    return '%s%s/%s/%s' % (api, ns, plural, name)


def strip_templates(v):
    """The server's `creationTimestamp: null` in embedded metadata is noise (render.c)."""
    if isinstance(v, list):
        for x in v:
            strip_templates(x)
        return False
    if not isinstance(v, dict):
        return False
    dropped = False
    for k in list(v):
        emptied = strip_templates(v[k])
        if k == 'metadata' and isinstance(v[k], dict) and 'creationTimestamp' in v[k] and \
                v[k]['creationTimestamp'] is None:
            del v[k]['creationTimestamp']
            emptied = not v[k]
        if emptied:
            del v[k]
            dropped = True
    return dropped and not v


def rendered(obj):
    """The server's object as SPEC section 4 says its file shows it."""
    o = copy.deepcopy(obj)
    o.pop('status', None)
    md = o.get('metadata') or {}
    for f in SERVER_METADATA:
        md.pop(f, None)
    ann = md.get('annotations')
    if isinstance(ann, dict):
        dropped = False
        for a in HIDDEN_ANNOTATIONS:
            dropped |= ann.pop(a, None) is not None
        if dropped and not ann:
            del md['annotations']
    if 'metadata' in o and not md:
        del o['metadata']
    strip_templates(o)
    return o


def redact(o):
    """Secret values are digests in the file: compare the keys only."""
    if o.get('kind') == 'Secret' and o.get('apiVersion') == 'v1':
        for f in ('data', 'stringData'):
            if isinstance(o.get(f), dict):
                o[f] = {k: '<value>' for k in o[f]}
    return o


def object_files(mnt):
    for top in sorted(os.listdir(mnt)):
        if top.startswith('.') or not os.path.isdir(os.path.join(mnt, top)):
            continue
        for d in sorted(os.listdir(os.path.join(mnt, top))):
            p = os.path.join(mnt, top, d)
            if not os.path.isdir(p):
                continue
            for f in sorted(os.listdir(p)):
                if f.endswith('.yaml'):
                    yield '%s/%s/%s' % (top, d, f)


def shown(obj, dirname):
    """Does the mount show obj by default (SPEC section 3)?"""
    md = obj.get('metadata') or {}
    if dirname in EXCLUDED:
        return False
    if any(r.get('controller') for r in md.get('ownerReferences') or []):
        return False
    if dirname == 'secrets' and (md.get('namespace'), md.get('name')) == \
            ('kube-system', 'gitopsfs-redaction-key'):
        return False  # the cluster's redaction key never shows (render/gfs_redaction.h)
    return not (dirname == 'configmaps' and md.get('name') == 'kube-root-ca.crt')


def readback(api, res, mnt):
    failures, files = 0, set(object_files(mnt))
    for path in sorted(files):
        status, live = api.get(object_url(res, path))
        with open(os.path.join(mnt, path), 'rb') as f:
            text = f.read()
        doc = yaml.load(text, Loader=Loader)
        if status != 200:
            print('%s: the server has no such object (%s)' % (path, status))
            failures += 1
        elif redact(doc) != redact(rendered(live)):
            print('%s: differs from the server\'s object' % path)
            failures += 1
    # The other way round: every object the mount should show has its file.
    missing = 0
    for dirname, (api_path, plural, namespaced, _) in sorted(res.items()):
        status, lst = api.get('%s/%s' % (api_path, plural))
        if status != 200:
            continue
        for item in lst.get('items') or []:
            md = item['metadata']
            path = '%s/%s/%s.yaml' % (md.get('namespace') or '_cluster', dirname, md['name'])
            if shown(item, dirname) and path not in files:
                print('%s: not shown' % path)
                missing += 1
    print('readback: %d files, %d differ, %d objects not shown' %
          (len(files), failures, missing))
    return failures + missing == 0


def rewrite(mnt):
    n = 0
    for path in object_files(mnt):
        p = os.path.join(mnt, path)
        with open(p, 'rb') as f:
            data = f.read()
        with open(p, 'wb') as f:
            f.write(data)
        n += 1
    print('rewrite: %d files written back unchanged' % n)
    return True


def diff_paths(a, b, at=''):
    """The JSON paths where a and b differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += diff_paths(a.get(k, '<absent>'), b.get(k, '<absent>'), at + '/' + k)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff_paths(x, y, '%s/%d' % (at, i))
        return out
    return [] if a == b else [at]


ALLOWED = {'/metadata/resourceVersion', '/metadata/labels/' + LABEL, '/metadata/labels',
           '/metadata/generation'}


def edit(api, res, mnt):
    failures = n = 0
    for path in object_files(mnt):
        url = object_url(res, path)
        _, before = api.get(url)
        p = os.path.join(mnt, path)
        with open(p, 'rb') as f:
            doc = yaml.load(f.read(), Loader=Loader)
        doc.setdefault('metadata', {}).setdefault('labels', {})[LABEL] = 'yes'
        try:
            with open(p, 'w') as f:
                f.write(yaml.safe_dump(doc, default_flow_style=False))
        except OSError as e:
            print('%s: the edit was refused: %s' % (path, e.strerror))
            failures += 1
            continue
        n += 1
        _, after = api.get(url)
        changed = [d for d in diff_paths(before, after)
                   if d not in ALLOWED and not d.startswith('/metadata/managedFields')]
        if (after.get('metadata', {}).get('labels') or {}).get(LABEL) != 'yes':
            print('%s: the label was not applied' % path)
            failures += 1
        elif changed:
            print('%s: the edit also changed %s' % (path, ', '.join(changed[:5])))
            failures += 1
    print('edit: %d objects edited, %d failures' % (n, failures))
    return failures == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--url', required=True)
    ap.add_argument('--token', required=True)
    ap.add_argument('--ca', required=True)
    ap.add_argument('what', choices=['readback', 'rewrite', 'edit'])
    ap.add_argument('mnt')
    a = ap.parse_args()
    api = Api(a.url, a.token, a.ca)
    if a.what == 'rewrite':
        ok = rewrite(a.mnt)
    else:
        res = api.resources()
        ok = readback(api, res, a.mnt) if a.what == 'readback' else edit(api, res, a.mnt)
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
