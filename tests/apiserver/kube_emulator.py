#!/usr/bin/env python3
"""An emulated kube-apiserver for tests: JSON over HTTP/1.1 or HTTPS, on 127.0.0.1 only.

The contract (command line, control endpoints) is docs/emulator-contract.md; README.md next to
this file says what is emulated. This module is the wire: HTTP, TLS, authentication, routing,
discovery, OpenAPI, Table output, watch streams, the request log, fault injection and the
control endpoints. The objects themselves live in emu_store.py.
"""
import argparse
import base64
import hashlib
import json
import os
import random
import re
import resource
import select
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import yaml  # noqa: E402

import emu_proto  # noqa: E402

from emu_store import (REQ, ApiError, Store, Watcher, bad_request, load_yaml,  # noqa: E402
                       parse_ts, status_error)

VERSION = {'major': '1', 'minor': '32', 'emulationMajor': '1', 'emulationMinor': '32',
           'minCompatibilityMajor': '1', 'minCompatibilityMinor': '31',
           'gitVersion': 'v1.32.0', 'gitCommit': '0' * 40, 'gitTreeState': 'clean',
           'buildDate': '2024-12-11T00:00:00Z', 'goVersion': 'go1.23.3', 'compiler': 'gc',
           'platform': 'linux/amd64'}


def jdump(obj):
    return json.dumps(obj, separators=(',', ':'), ensure_ascii=False).encode()


def iso_ms():
    t = time.time()
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t)) + '.%03dZ' % (int(t * 1000) % 1000)


def version_key(v):
    """Sort key for Kubernetes version priority, highest first (apimachinery's
    CompareKubeAwareVersionStrings): GA > beta > alpha, then the higher major, then the
    higher minor (v2 > v1 > v1beta2 > v1beta1 > v1alpha1); names not of that form come
    after all of those, alphabetically."""
    m = re.fullmatch(r'v(\d+)(?:(alpha|beta)(\d+))?', v)
    if not m:
        return (1, 0, 0, 0, v)
    return (0, -{None: 3, 'beta': 2, 'alpha': 1}[m.group(2)], -int(m.group(1)),
            -int(m.group(3) or 0), '')


def human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration, as in the AGE column."""
    s = int(seconds)
    if s < -1:
        return '<invalid>'
    if s < 0:
        return '0s'
    if s < 120:
        return '%ds' % s
    m = s // 60
    if m < 10:
        return '%dm%ds' % (m, s % 60) if s % 60 else '%dm' % m
    if m < 180:
        return '%dm' % m
    h = s // 3600
    if h < 8:
        return '%dh%dm' % (h, m % 60) if m % 60 else '%dh' % h
    if h < 48:
        return '%dh' % h
    if h < 24 * 8:
        return '%dd%dh' % (h // 24, h % 24) if h % 24 else '%dd' % (h // 24)
    if h < 24 * 365 * 2:
        return '%dd' % (h // 24)
    return '%dy' % (h // 24 // 365)


# --- Table output (what `kubectl get` asks for) --------------------------------------------

def _age(o):
    return human_duration(time.time() - parse_ts(o['metadata'].get('creationTimestamp')))


def _ports(o):
    ps = (o.get('spec') or {}).get('ports') or []
    out = []
    for p in ps:
        s = str(p.get('port'))
        if p.get('nodePort'):
            s += ':%d' % p['nodePort']
        out.append('%s/%s' % (s, p.get('protocol', 'TCP')))
    return ','.join(out) or '<none>'


def _pod_ready(o):
    cs = (o.get('status') or {}).get('containerStatuses') or []
    n = len((o.get('spec') or {}).get('containers') or [])
    return '%d/%d' % (sum(1 for c in cs if c.get('ready')), n)


def _g(o, *path, default=0):
    cur = o
    for p in path:
        cur = (cur or {}).get(p) if isinstance(cur, dict) else None
    return default if cur is None else cur


S, I, D = 'string', 'integer', 'date'
COLUMNS = {
    'Namespace': [('Status', S, lambda o: _g(o, 'status', 'phase', default=''))],
    'ConfigMap': [('Data', I, lambda o: len(o.get('data') or {}) + len(o.get('binaryData') or {}))],
    'Secret': [('Type', S, lambda o: o.get('type', '')),
               ('Data', I, lambda o: len(o.get('data') or {}))],
    'ServiceAccount': [('Secrets', I, lambda o: len(o.get('secrets') or []))],
    'Service': [('Type', S, lambda o: _g(o, 'spec', 'type', default='')),
                ('Cluster-IP', S, lambda o: _g(o, 'spec', 'clusterIP', default='<none>')),
                ('External-IP', S, lambda o: '<none>'),
                ('Port(s)', S, _ports)],
    'Pod': [('Ready', S, _pod_ready),
            ('Status', S, lambda o: _g(o, 'status', 'phase', default='Pending')),
            ('Restarts', I, lambda o: 0)],
    'Deployment': [('Ready', S, lambda o: '%d/%d' % (_g(o, 'status', 'readyReplicas'),
                                                     _g(o, 'spec', 'replicas'))),
                   ('Up-to-date', I, lambda o: _g(o, 'status', 'updatedReplicas')),
                   ('Available', I, lambda o: _g(o, 'status', 'availableReplicas'))],
    'ReplicaSet': [('Desired', I, lambda o: _g(o, 'spec', 'replicas')),
                   ('Current', I, lambda o: _g(o, 'status', 'replicas')),
                   ('Ready', I, lambda o: _g(o, 'status', 'readyReplicas'))],
    'Node': [('Status', S, lambda o: 'Ready'),
             ('Roles', S, lambda o: 'control-plane'),
             ('Version', S, lambda o: _g(o, 'status', 'nodeInfo', 'kubeletVersion', default=''))],
    'Lease': [('Holder', S, lambda o: _g(o, 'spec', 'holderIdentity', default=''))],
}


def _hpa_targets(o):
    out = []
    for m in _g(o, 'spec', 'metrics', default=[]):
        r = m.get('resource') or {}
        u = (r.get('target') or {}).get('averageUtilization')
        if m.get('type') == 'Resource' and u is not None:
            out.append('%s: <unknown>/%d%%' % (r.get('name'), u))
        else:
            out.append('<unknown>')
    return ', '.join(out) or '<none>'


def _available(o):
    c = next((c for c in _g(o, 'status', 'conditions', default=[])
              if c.get('type') == 'Available'), {})
    st = c.get('status', 'Unknown')
    return st if st == 'True' or not c.get('reason') else '%s (%s)' % (st, c['reason'])


# Kinds outside COLUMNS' groups: (group, kind) -> every column after Name, Age included.
AGE = ('Age', S, _age)
MORE_COLUMNS = {
    ('', 'ReplicationController'): [
        ('Desired', I, lambda o: _g(o, 'spec', 'replicas')),
        ('Current', I, lambda o: _g(o, 'status', 'replicas')),
        ('Ready', I, lambda o: _g(o, 'status', 'readyReplicas')), AGE],
    ('autoscaling', 'HorizontalPodAutoscaler'): [
        ('Reference', S, lambda o: '%s/%s' % (_g(o, 'spec', 'scaleTargetRef', 'kind', default=''),
                                              _g(o, 'spec', 'scaleTargetRef', 'name',
                                                 default=''))),
        ('Targets', S, _hpa_targets),
        ('MinPods', I, lambda o: _g(o, 'spec', 'minReplicas', default=1)),
        ('MaxPods', I, lambda o: _g(o, 'spec', 'maxReplicas')),
        ('Replicas', I, lambda o: _g(o, 'status', 'currentReplicas')), AGE],
    ('networking.k8s.io', 'IngressClass'): [
        ('Controller', S, lambda o: _g(o, 'spec', 'controller', default='')),
        ('Parameters', S, lambda o: '<none>' if not _g(o, 'spec', 'parameters', default=None)
         else '%s/%s' % (_g(o, 'spec', 'parameters', 'kind', default=''),
                         _g(o, 'spec', 'parameters', 'name', default=''))), AGE],
    ('scheduling.k8s.io', 'PriorityClass'): [
        ('Value', I, lambda o: o.get('value', 0)),
        ('Global-Default', 'boolean', lambda o: bool(o.get('globalDefault'))), AGE,
        ('PreemptionPolicy', S, lambda o: o.get('preemptionPolicy', ''))],
    ('node.k8s.io', 'RuntimeClass'): [('Handler', S, lambda o: o.get('handler', '')), AGE],
    ('apiregistration.k8s.io', 'APIService'): [
        ('Service', S, lambda o: 'Local' if not _g(o, 'spec', 'service', default=None) else
         '%s/%s' % (_g(o, 'spec', 'service', 'namespace', default=''),
                    _g(o, 'spec', 'service', 'name', default=''))),
        ('Available', S, _available), AGE],
    ('admissionregistration.k8s.io', 'MutatingWebhookConfiguration'): [
        ('Webhooks', I, lambda o: len(o.get('webhooks') or [])), AGE],
    ('admissionregistration.k8s.io', 'ValidatingWebhookConfiguration'): [
        ('Webhooks', I, lambda o: len(o.get('webhooks') or [])), AGE],
}


def _jsonpath(o, path):
    cur = o
    for part in re.findall(r'[^.\[\]]+|\[\d+\]', path or ''):
        if part.startswith('['):
            idx = int(part[1:-1])
            cur = cur[idx] if isinstance(cur, list) and idx < len(cur) else None
        else:
            cur = cur.get(part) if isinstance(cur, dict) else None
    return cur


def table_columns(rt):
    """-> [(name, type, format, fn)]. The real server's columns for the common kinds; the
    default convertor (Name, Created At) for the rest, additionalPrinterColumns for CRs."""
    name = ('Name', S, 'name', lambda o: o['metadata']['name'])
    if rt.crd:
        cols = [name]
        for c in rt.columns or []:
            t = c.get('type', S)
            fn = (lambda o, p=c.get('jsonPath'), t=t:
                  (lambda v: human_duration(time.time() - parse_ts(v)) if t == D and v else v)(
                      _jsonpath(o, p)))
            cols.append((c.get('name'), t, c.get('format', ''), fn))
        if not rt.columns:
            cols.append(('Age', D, '', _age))
        return cols
    if (rt.group, rt.kind) in MORE_COLUMNS:
        return [name] + [(n, t, '', fn) for n, t, fn in MORE_COLUMNS[(rt.group, rt.kind)]]
    if rt.kind in COLUMNS and rt.group in ('', 'apps', 'coordination.k8s.io'):
        return [name] + [(n, t, '', fn) for n, t, fn in COLUMNS[rt.kind]] + [('Age', S, '', _age)]
    return [name, ('Created At', D, '', lambda o: o['metadata'].get('creationTimestamp'))]


def to_table(rt, objs, rv, include='Metadata', cont=None, remaining=None):
    cols = table_columns(rt)
    rows = []
    for o in objs:
        row = {'cells': [fn(o) for _, _, _, fn in cols]}
        if include == 'Object':
            row['object'] = o
        elif include != 'None':
            row['object'] = {'kind': 'PartialObjectMetadata', 'apiVersion': 'meta.k8s.io/v1',
                             'metadata': o['metadata']}
        rows.append(row)
    meta = {'resourceVersion': str(rv)}
    if cont:
        meta['continue'] = cont
    if remaining is not None:
        meta['remainingItemCount'] = remaining
    return {'kind': 'Table', 'apiVersion': 'meta.k8s.io/v1', 'metadata': meta,
            'columnDefinitions': [{'name': n, 'type': t, 'format': f, 'description': n,
                                   'priority': 0} for n, t, f, _ in cols],
            'rows': rows}


def wants(accept, what):
    """Does the Accept header ask for `as=<what>` in JSON (Table, PartialObjectMetadata...)?
    Protobuf is never served: the first JSON alternative wins."""
    for part in (accept or '').split(','):
        params = [p.strip() for p in part.split(';')]
        if params[0] in ('application/json', '*/*') and 'as=%s' % what in params:
            return True
    return False


# --- OpenAPI v3 (enough for kubectl: which kinds accept ?fieldValidation) -----------------

def openapi_doc(store, group, version):
    """A document per group-version with one PATCH operation per kind carrying
    x-kubernetes-group-version-kind and the fieldValidation parameter: kubectl create/apply
    then use server-side field validation. There are no schemas and no request bodies: so
    client-side apply falls back to its compiled-in types for strategic merge patches."""
    paths = {}
    prefix = '/api/v1' if not group else '/apis/%s/%s' % (group, version)
    params = [{'name': n, 'in': 'query', 'schema': {'type': 'string', 'uniqueItems': True}}
              for n in ('dryRun', 'fieldManager', 'fieldValidation', 'force')]
    for rt in sorted(store.types.values(), key=lambda t: t.plural):
        if rt.group != group or rt.version != version:
            continue
        gvk = {'group': group, 'version': version, 'kind': rt.kind}
        base = prefix + ('/namespaces/{namespace}/' if rt.namespaced else '/') + rt.plural

        def op(action, extra=None):
            d = {'operationId': action + rt.kind, 'x-kubernetes-action': action,
                 'x-kubernetes-group-version-kind': gvk,
                 'responses': {'200': {'description': 'OK'}}}
            if extra:
                d['parameters'] = extra
            return d
        paths[base] = {'get': op('list'), 'post': op('post', params[:3])}
        paths[base + '/{name}'] = {'get': op('get'), 'put': op('put', params[:3]),
                                   'patch': op('patch', params), 'delete': op('delete')}
    return {'openapi': '3.0.0', 'info': {'title': 'Kubernetes', 'version': 'v1.32.0'},
            'paths': paths, 'components': {'schemas': {}}}


# An OpenAPI v2 document without definitions, as gnostic's protobuf (the only form kubectl
# reads): swagger "2.0" and info {title, version}. kubectl validates a `kind: List` or
# `kind: <Kind>List` document against v2 (v3 has no operation for it); finding no schema
# there, it leaves the validation of the items to the server (?fieldValidation=Strict).
def _pb_str(field, s):
    b = s.encode()
    return bytes([field << 3 | 2, len(b)]) + b


_V2_INFO = _pb_str(1, 'Kubernetes') + _pb_str(2, 'v1.32.0')
OPENAPI_V2_PB = _pb_str(1, '2.0') + bytes([2 << 3 | 2, len(_V2_INFO)]) + _V2_INFO
OPENAPI_V2_MIME = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf'


# --- TLS material ---------------------------------------------------------------------------

def ensure_tls(d):
    """CA, server and client certificates in d, made with openssl when missing."""
    need = ['ca.crt', 'ca.key', 'server.crt', 'server.key', 'client.crt', 'client.key']
    os.makedirs(d, exist_ok=True)
    if all(os.path.exists(os.path.join(d, f)) for f in need):
        return
    tmp = tempfile.mkdtemp(dir=d, prefix='.gen-')

    def run(*args):
        subprocess.run(['openssl'] + list(args), cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def key(name):
        run('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name)

    def sign(name, subj, ext):
        key(name + '.key')
        run('req', '-new', '-key', name + '.key', '-subj', subj, '-out', name + '.csr')
        with open(os.path.join(tmp, name + '.ext'), 'w') as f:
            f.write(ext)
        run('x509', '-req', '-in', name + '.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key',
            '-set_serial', '0x%x' % random.getrandbits(64), '-days', '3650',
            '-out', name + '.crt', '-extfile', name + '.ext')
    key('ca.key')
    run('req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=kube-emulator-ca', '-days',
        '3650', '-out', 'ca.crt', '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature')
    sign('server', '/CN=kube-apiserver',
         'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n'
         'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,'
         'DNS:kubernetes,DNS:kubernetes.default.svc\n')
    sign('client', '/O=system:masters/CN=emu-admin',
         'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n'
         'extendedKeyUsage=clientAuth\n')
    for f in need:
        os.replace(os.path.join(tmp, f), os.path.join(d, f))
        if f.endswith('.key'):
            os.chmod(os.path.join(d, f), 0o600)
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)


def write_atomic(path, text):
    tmp = path + '.tmp.%d' % os.getpid()
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


# --- the server -----------------------------------------------------------------------------

class EmuHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # the listen backlog: a client that opens a watch per resource at once (a thousand CRDs)
    # must not see SYNs dropped and retried a second later (the kernel caps it at somaxconn)
    request_queue_size = 4096

    def get_request(self):
        sock, addr = self.socket.accept()
        # headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
        # holds the body back for the client's delayed ACK (~40 ms on every answer)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.emu.ssl_ctx is not None:
            # the handshake is done in the connection's own thread (Handler.setup), so a slow
            # or broken client never blocks the accept loop
            sock = self.emu.ssl_ctx.wrap_socket(sock, server_side=True,
                                                do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        if self.emu.verbose:
            super().handle_error(request, client_address)


class Emulator:
    def __init__(self, args):
        self.args = args
        self.verbose = args.verbose
        self.token, self.ro_token = args.token, args.readonly_token
        self.ssl_ctx = None
        ca_pem = None
        if args.tls_dir:
            ensure_tls(args.tls_dir)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(os.path.join(args.tls_dir, 'server.crt'),
                                os.path.join(args.tls_dir, 'server.key'))
            ctx.load_verify_locations(os.path.join(args.tls_dir, 'ca.crt'))
            ctx.verify_mode = ssl.CERT_OPTIONAL     # a client certificate if given, else a token
            ctx.set_alpn_protocols(['http/1.1'])    # no HTTP/2: Go clients fall back to 1.1
            self.ssl_ctx = ctx
            with open(os.path.join(args.tls_dir, 'ca.crt')) as f:
                ca_pem = f.read()
        self.store = Store(history=args.history, ca_pem=ca_pem)
        if args.audit:
            self.store.audit = open(args.audit, 'a')
        self.log_lock = threading.Lock()
        self.requests = []
        self.logfile = open(args.logfile, 'a') if args.logfile else None
        self.faults = []
        self.conns = set()
        self.conns_lock = threading.Lock()
        self.httpd = None
        self.port = args.port
        self.stop = threading.Event()
        self.down_until = 0

    # -- start-up --
    def populate(self):
        self.store.bootstrap()
        if self.args.seed:
            self.seed(self.args.seed)
        if self.args.bulk:
            self.bulk(self.args.bulk)
        if self.args.crds:
            self.crds(self.args.crds, self.args.crd_objects)

    def seed(self, path):
        with open(path) as f:
            text = f.read()
        docs = []
        for d in yaml.safe_load_all(text):
            if isinstance(d, list):
                docs += d
            elif isinstance(d, dict) and d.get('kind') == 'List':
                docs += d.get('items') or []
            elif d:
                docs.append(d)
        for d in docs:
            rt = self.store.by_kind(d.get('apiVersion', ''), d.get('kind', ''))
            if rt is None:
                raise SystemExit('seed: no resource for %s %s' % (d.get('apiVersion'),
                                                                  d.get('kind')))
            ns = None
            if rt.namespaced:
                ns = (d.get('metadata') or {}).get('namespace') or 'default'
                if not self.store.ns_exists(ns):   # convenience: seeds name their namespaces
                    self.store.create(self.store.rtype('', 'v1', 'namespaces'), None, {
                        'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': ns}},
                        'emulator-seed')
            try:
                self.store.create(rt, ns, d, 'emulator-seed')
            except ApiError as e:
                raise SystemExit('seed: %s' % e.message)

    def bulk(self, n):
        nsrt, cmrt = self.store.rtype('', 'v1', 'namespaces'), self.store.rtype('', 'v1', 'configmaps')
        for i in range(min(n, 10)):
            if not self.store.ns_exists('bulk-%d' % i):
                self.store.create(nsrt, None, {'apiVersion': 'v1', 'kind': 'Namespace',
                                               'metadata': {'name': 'bulk-%d' % i}}, 'emulator-bulk')
        for i in range(n):
            self.store.create(cmrt, 'bulk-%d' % (i % 10), {
                'apiVersion': 'v1', 'kind': 'ConfigMap',
                'metadata': {'name': 'cm-%06d' % i, 'labels': {'bulk': 'true'}},
                'data': {'index': str(i), 'value': 'bulk value %d' % i}}, 'emulator-bulk')

    @staticmethod
    def crd_names(n):
        """--crds N: [(group, kind, plural)] for N CustomResourceDefinitions, ten per API
        group: Widget0000 .. Widget0009 in g000.scale.example.com, Widget0010 in g001..."""
        w = max(4, len(str(n - 1)))
        gw = max(3, len(str((n - 1) // 10)))
        return [('g%0*d.scale.example.com' % (gw, i // 10), 'Widget%0*d' % (w, i),
                 'widget%0*ds' % (w, i)) for i in range(n)]

    def crds(self, n, k):
        """N CRDs created as `kubectl create -f` creates them (the CRD controller registers
        and establishes each), then K objects of each in namespace `crds`."""
        st = self.store
        crd_rt = st.rtype('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')
        if not st.ns_exists('crds'):
            st.create(st.rtype('', 'v1', 'namespaces'), None, {
                'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'crds'}},
                'emulator-crds')
        schema = {'type': 'object', 'properties': {'spec': {
            'type': 'object', 'x-kubernetes-preserve-unknown-fields': True,
            'properties': {'index': {'type': 'integer'}, 'value': {'type': 'string'}}}}}
        made = []
        for group, kind, plural in self.crd_names(n):
            st.create(crd_rt, None, {
                'apiVersion': 'apiextensions.k8s.io/v1', 'kind': 'CustomResourceDefinition',
                'metadata': {'name': '%s.%s' % (plural, group),
                             'labels': {'scale.example.com/crd': 'true'}},
                'spec': {'group': group, 'scope': 'Namespaced',
                         'names': {'plural': plural, 'singular': kind.lower(), 'kind': kind,
                                   'listKind': kind + 'List', 'categories': ['scale']},
                         'versions': [{'name': 'v1', 'served': True, 'storage': True,
                                       'schema': {'openAPIV3Schema': schema}}]}},
                'emulator-crds')
            made.append((group, kind, plural))
        for i, (group, kind, plural) in enumerate(made):
            rt = st.rtype(group, 'v1', plural)
            for j in range(k):
                st.create(rt, 'crds', {
                    'apiVersion': group + '/v1', 'kind': kind,
                    'metadata': {'name': '%s-%d' % (kind.lower(), j),
                                 'labels': {'scale.example.com/index': str(i)}},
                    'spec': {'index': j, 'value': 'object %d of %s' % (j, kind)}},
                    'emulator-crds')

    def listen(self):
        httpd = EmuHTTPServer(('127.0.0.1', self.port), Handler)
        httpd.emu = self
        self.port = httpd.server_address[1]
        self.httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={'poll_interval': 0.1},
                         daemon=True).start()

        def controller_resync():   # progress deadlines pass without a write
            while True:
                time.sleep(0.5)
                self.store.deadline_tick()
        threading.Thread(target=controller_resync, daemon=True).start()

    def write_files(self):
        a = self.args
        if a.kubeconfig:
            write_atomic(a.kubeconfig, self.kubeconfig())
        if a.pidfile:
            write_atomic(a.pidfile, '%d\n' % os.getpid())
        if a.portfile:
            write_atomic(a.portfile, '%d\n' % self.port)

    def kubeconfig(self):
        scheme = 'https' if self.ssl_ctx else 'http'
        cluster = {'server': '%s://127.0.0.1:%d' % (scheme, self.port)}
        users, contexts = [], []

        def b64file(name):
            with open(os.path.join(self.args.tls_dir, name), 'rb') as f:
                return base64.b64encode(f.read()).decode()
        if self.ssl_ctx:
            cluster['certificate-authority-data'] = b64file('ca.crt')
            cert_user = {'client-certificate-data': b64file('client.crt'),
                         'client-key-data': b64file('client.key')}
        main = {'token': self.token} if self.token else (cert_user if self.ssl_ctx else {})
        users.append({'name': 'emu', 'user': main})
        contexts.append({'name': 'emu', 'context': {'cluster': 'emu', 'user': 'emu',
                                                    'namespace': 'default'}})
        if self.ssl_ctx:
            users.append({'name': 'emu-cert', 'user': cert_user})
            contexts.append({'name': 'emu-cert', 'context': {'cluster': 'emu', 'user': 'emu-cert',
                                                             'namespace': 'default'}})
        if self.ro_token:
            users.append({'name': 'emu-readonly', 'user': {'token': self.ro_token}})
            contexts.append({'name': 'emu-readonly', 'context': {
                'cluster': 'emu', 'user': 'emu-readonly', 'namespace': 'default'}})
        return yaml.safe_dump({'apiVersion': 'v1', 'kind': 'Config', 'preferences': {},
                               'clusters': [{'name': 'emu', 'cluster': cluster}],
                               'users': users, 'contexts': contexts,
                               'current-context': 'emu'}, sort_keys=False)

    # -- faults and control --
    def take_fault(self, method, path, is_watch):
        with self.log_lock:
            for f in self.faults:
                if f.get('count') is not None and f['count'] <= 0:
                    continue
                if not path.startswith(f.get('path_prefix') or ''):
                    continue
                if f.get('method') and f['method'].upper() != method:
                    continue
                if f.get('watch') is not None and bool(f['watch']) != is_watch:
                    continue
                if f.get('count') is not None:
                    f['count'] -= 1
                return dict(f)
            self.faults = [f for f in self.faults if f.get('count') is None or f['count'] > 0]
        return None

    def go_down(self, seconds):
        def run():
            time.sleep(0.05)   # let the answer to /_emu/down go out first
            httpd, self.httpd = self.httpd, None
            self.down_until = time.time() + seconds
            if httpd:
                httpd.shutdown()
                httpd.server_close()
            with self.conns_lock:
                conns = list(self.conns)
            for c in conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.store.close_watches()
            self.stop.wait(seconds)
            if not self.stop.is_set():
                for _ in range(50):
                    try:
                        self.listen()
                        break
                    except OSError:
                        time.sleep(0.1)
        threading.Thread(target=run, daemon=True).start()

    def log_request(self, rec):
        with self.log_lock:
            self.requests.append(rec)
            if self.logfile:
                self.logfile.write(json.dumps(rec) + '\n')
                self.logfile.flush()

    def shutdown(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
        self.store.close_watches()
        with self.conns_lock:
            for c in list(self.conns):
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'kube-emulator'
    sys_version = ''

    @property
    def emu(self):
        return self.server.emu

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()
        with self.emu.conns_lock:
            self.emu.conns.add(self.request)

    def finish(self):
        with self.emu.conns_lock:
            self.emu.conns.discard(self.request)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, fmt, *args):
        if self.emu.verbose:
            sys.stderr.write('%s %s\n' % (iso_ms(), fmt % args))

    def do_GET(self):
        self.route()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # -- plumbing --
    def read_body(self):
        if (self.headers.get('Transfer-Encoding') or '').lower() == 'chunked':
            data = b''
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n) if n else b''

    def send_body(self, code, body, ctype='application/json', headers=None):
        self.send_response(code)
        self.send_header('Audit-Id', str(uuid.uuid4()))
        self.send_header('Cache-Control', 'no-cache, private')
        self.send_header('Content-Type', ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        for w in getattr(REQ, 'warnings', None) or []:
            self.send_header('Warning', '299 - %s' % json.dumps(w))
        REQ.warnings = []
        self.send_header('Content-Length', str(len(body)))
        self.status_code = code
        if getattr(self, 'log_at', None):
            self.log(*self.log_at)
            self.logged = True
        self.end_headers()
        if not self.method_is_head:
            self.wfile.write(body)

    def send_json(self, code, obj, headers=None):
        self.send_body(code, jdump(obj), headers=headers)

    def send_error_status(self, err):
        self.send_json(err.code, err.status(), err.headers)

    def not_found_text(self):
        self.send_body(404, b'404 page not found\n', 'text/plain; charset=utf-8')

    def write_chunk(self, data):
        self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data))

    # -- authentication --
    def authenticate(self):
        """-> user name, 'system:anonymous', or None (401). With --token the bearer token or,
        over TLS, a client certificate signed by the CA is required; /version and the health
        checks are open to anonymous clients, as system:public-info-viewer makes them."""
        auth = self.headers.get('Authorization') or ''
        emu = self.emu
        if auth.lower().startswith('bearer '):
            tok = auth[7:].strip()
            if emu.token and tok == emu.token:
                return 'emu-admin'
            if emu.ro_token and tok == emu.ro_token:
                return 'emu-readonly'
            if not emu.token and not emu.ro_token:
                return 'system:anonymous'
            return None
        if auth:
            return None if (emu.token or emu.ro_token) else 'system:anonymous'
        if isinstance(self.connection, ssl.SSLSocket):
            cert = self.connection.getpeercert()
            if cert:
                cn = [v for rdn in cert.get('subject', ()) for k, v in rdn if k == 'commonName']
                return cn[0] if cn else 'emu-cert'
        if not emu.token and not emu.ro_token:
            return 'system:anonymous'
        return 'system:anonymous-public'

    # -- routing --
    def route(self):
        self.status_code = 0
        self.logged = False
        self.method_is_head = self.command == 'HEAD'
        u = urllib.parse.urlsplit(self.path)
        path = u.path
        # Logged as the answer goes out, before its body: a client that has
        # its answer finds the request in the log (no race with a test).
        self.log_at = None if path.startswith('/_emu/') else (path, u.query)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        body = self.read_body()
        REQ.warnings = []
        REQ.field_validation = query.get('fieldValidation') or 'Warn'
        control = path.startswith('/_emu/')
        self.is_watch = query.get('watch') in ('1', 'true') or '/watch/' in path
        user = self.authenticate()
        public = path in ('/version', '/healthz', '/readyz', '/livez') or \
            path.startswith(('/healthz/', '/readyz/', '/livez/'))
        try:
            if user is None or (user == 'system:anonymous-public' and not public):
                raise ApiError(401, 'Unauthorized', 'Unauthorized')
            if control:
                if user == 'emu-readonly' and self.command != 'GET':
                    raise ApiError(403, 'Forbidden', 'forbidden: User "emu-readonly" cannot use '
                                   'the emulator control endpoints')
                return self.control(path, body)
            fault = self.emu.take_fault(self.command, path, self.is_watch)
            if fault:
                if fault.get('delay'):
                    time.sleep(float(fault['delay']))
                if fault.get('status'):
                    err = status_error(int(fault['status']), fault.get('message'))
                    if self.is_watch and fault.get('as_watch_event'):
                        return self.watch_error_only(err)
                    raise err
            self.dispatch(urllib.parse.unquote(path), query, body, user)
        except ApiError as e:
            self.send_error_status(e)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        except Exception as e:   # a bug here must not kill the connection thread silently
            if self.emu.verbose:
                import traceback
                traceback.print_exc()
            try:
                self.send_error_status(ApiError(500, 'InternalError',
                                                'Internal error occurred: %s' % e))
            except OSError:
                self.close_connection = True
        finally:
            if not control and self.status_code:
                self.log(path, u.query)

    def log(self, path, query):
        if getattr(self, 'logged', False):
            return
        self.emu.log_request({'time': iso_ms(), 'method': self.command, 'path': path,
                              'query': query, 'user_agent': self.headers.get('User-Agent', ''),
                              'status': self.status_code, 'watch': self.is_watch})

    def control(self, path, body):
        emu = self.emu
        try:
            arg = json.loads(body) if body.strip() else {}
        except ValueError:
            raise bad_request('control body is not JSON')
        m = self.command
        if path == '/_emu/requests' and m == 'GET':
            with emu.log_lock:
                return self.send_json(200, list(emu.requests))
        if path == '/_emu/requests' and m == 'DELETE':
            with emu.log_lock:
                n = len(emu.requests)
                emu.requests.clear()
            return self.send_json(200, {'cleared': n})
        if path == '/_emu/faults' and m == 'POST':
            if not isinstance(arg, dict) or not arg.get('status') and not arg.get('delay'):
                raise bad_request('a fault needs "status" (or "delay")')
            f = {'status': arg.get('status'), 'count': arg.get('count', 1),
                 'path_prefix': arg.get('path_prefix', ''), 'method': arg.get('method'),
                 'watch': arg.get('watch')}
            for k in ('message', 'delay', 'as_watch_event'):
                if k in arg:
                    f[k] = arg[k]
            with emu.log_lock:
                emu.faults.append(f)
                return self.send_json(201, list(emu.faults))
        if path == '/_emu/faults' and m == 'GET':
            with emu.log_lock:
                return self.send_json(200, list(emu.faults))
        if path == '/_emu/faults' and m == 'DELETE':
            with emu.log_lock:
                emu.faults.clear()
            return self.send_json(200, [])
        if path == '/_emu/close-watches' and m == 'POST':
            with emu.store.lock:
                n = len(emu.store.watchers)
            emu.store.close_watches()
            return self.send_json(200, {'closed': n})
        if path == '/_emu/compact' and m == 'POST':
            emu.store.compact()
            return self.send_json(200, {'compacted': emu.store.compacted})
        if path == '/_emu/down' and m == 'POST':
            secs = float(arg.get('seconds', 3))
            self.send_json(200, {'down': secs})
            self.close_connection = True
            emu.go_down(secs)
            return None
        if path == '/_emu/status-tick' and m == 'POST':
            return self.send_json(200, {'deployments': emu.store.status_tick(),
                                        'resourceVersion': str(emu.store.rv)})
        if path == '/_emu/kubelet' and m == 'POST':
            if not isinstance(arg, dict):
                raise bad_request('kubelet takes {"pull_fail": [images], "crash": [images]}')
            return self.send_json(200, emu.store.set_kubelet(arg.get('pull_fail'),
                                                             arg.get('crash')))
        if path == '/_emu/watches' and m == 'GET':
            with emu.store.lock:
                ws = [{'group': w.gk[0], 'resource': w.gk[1], 'namespace': w.ns}
                      for w in emu.store.watchers]
            return self.send_json(200, ws)
        if path == '/_emu/state' and m == 'GET':
            with emu.store.lock:
                counts = {('%s.%s' % (gk[1], gk[0])).rstrip('.'): len(v)
                          for gk, v in emu.store.objects.items() if v}
                return self.send_json(200, {'resourceVersion': str(emu.store.rv),
                                            'compacted': str(emu.store.compacted),
                                            'objects': counts})
        raise ApiError(404, 'NotFound', 'no such control endpoint: %s %s' % (m, path))

    def dispatch(self, path, q, body, user):
        store = self.emu.store
        if path == '/version':
            return self.send_json(200, VERSION)
        if path in ('/healthz', '/readyz', '/livez') or \
                path.startswith(('/healthz/', '/readyz/', '/livez/')):
            return self.send_body(200, b'ok', 'text/plain; charset=utf-8')
        if path == '/api':
            return self.send_json(200, {'kind': 'APIVersions', 'versions': ['v1'],
                                        'serverAddressByClientCIDRs': [{
                                            'clientCIDR': '0.0.0.0/0',
                                            'serverAddress': '127.0.0.1:%d' % self.emu.port}]})
        if path == '/apis':
            with store.lock:
                groups = [self.api_group(g, vs) for g, vs in store.groups().items() if g]
            return self.send_json(200, {'kind': 'APIGroupList', 'apiVersion': 'v1',
                                        'groups': groups})
        if path.startswith('/openapi/'):
            return self.openapi(path)
        parts = path.strip('/').split('/')
        with store.lock:
            groups = store.groups()
        if parts[0] == 'apis' and len(parts) == 2 and parts[1] in groups:
            return self.send_json(200, dict(self.api_group(parts[1], groups[parts[1]]),
                                            kind='APIGroup', apiVersion='v1'))
        if (parts[:2] == ['api', 'v1'] and len(parts) == 2) or \
                (parts[0] == 'apis' and len(parts) == 3 and parts[2] in groups.get(parts[1], [])):
            group, version = ('', 'v1') if parts[0] == 'api' else (parts[1], parts[2])
            with store.lock:
                res = []
                for rt in sorted(store.types.values(), key=lambda t: t.plural):
                    if rt.group == group and rt.version == version:
                        res += rt.discovery()
            return self.send_json(200, {'kind': 'APIResourceList', 'apiVersion': 'v1',
                                        'groupVersion': version if not group else
                                        '%s/%s' % (group, version), 'resources': res})
        if parts[0] == 'api' and len(parts) > 2 and parts[1] == 'v1':
            group, version, rest = '', 'v1', parts[2:]
        elif parts[0] == 'apis' and len(parts) > 3 and parts[2] in groups.get(parts[1], []):
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return self.not_found_text()
        return self.resource(group, version, rest, q, body, user)

    @staticmethod
    def api_group(g, versions):
        # kube-apiserver (and apiextensions-apiserver for a CRD group) prefers the version
        # of highest priority among all of the group's versions.
        vs = sorted(versions, key=version_key)
        gvs = [{'groupVersion': '%s/%s' % (g, v), 'version': v} for v in vs]
        return {'name': g, 'versions': gvs, 'preferredVersion': gvs[0]}

    def openapi(self, path):
        store = self.emu.store
        if path == '/openapi/v3':
            paths = {}
            with store.lock:
                for g, vs in store.groups().items():
                    for v in vs:
                        key = 'api/v1' if not g else 'apis/%s/%s' % (g, v)
                        doc = jdump(openapi_doc(store, g, v))
                        paths[key] = {'serverRelativeURL': '/openapi/v3/%s?hash=%s' % (
                            key, hashlib.sha512(doc).hexdigest().upper())}
            return self.send_json(200, {'paths': paths})
        m = re.fullmatch(r'/openapi/v3/(?:api/(v1)|apis/([^/]+)/([^/]+))', path)
        if m:
            g, v = ('', 'v1') if m.group(1) else (m.group(2), m.group(3))
            with store.lock:
                if v in store.groups().get(g, []):
                    return self.send_json(200, openapi_doc(store, g, v))
        if path == '/openapi/v2':
            return self.send_body(200, OPENAPI_V2_PB, OPENAPI_V2_MIME)
        return self.not_found_text()

    # -- resources --
    def resource(self, group, version, rest, q, body, user):
        store = self.emu.store
        legacy_watch = rest[0] == 'watch'
        if legacy_watch:
            rest = rest[1:]
        ns = None
        if len(rest) >= 3 and rest[0] == 'namespaces' and \
                not (len(rest) == 3 and rest[2] in ('status', 'finalize')):
            ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            return self.not_found_text()
        with store.lock:
            rt = store.rtype(group, version, rest[0])
        if rt is None or (rt.namespaced and ns is None and len(rest) > 1) or \
                (not rt.namespaced and ns is not None):
            raise ApiError(404, 'NotFound', 'the server could not find the requested resource',
                           {'causes': [{'reason': 'UnexpectedServerResponse',
                                        'message': '404 page not found'}]})
        if rt.deprecation:
            REQ.warnings = getattr(REQ, 'warnings', []) + [rt.deprecation]
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        subs = (['status'] if rt.status else []) + (['scale'] if rt.scale else []) + \
            [s[0].split('/', 1)[1] for s in rt.extra_sub]
        if sub is not None and sub not in subs:
            raise ApiError(404, 'NotFound', 'the server could not find the requested resource')
        m = self.command
        if m == 'HEAD':
            m = 'GET'
        if rt.namespaced and ns is None and m not in ('GET',):
            # writes need a namespace: /api/v1/configmaps only lists and watches
            raise self.method_not_allowed()
        if rt.virtual:
            if m != 'POST' or name is not None:
                raise self.method_not_allowed()
            return self.review(rt, self.decode(body, rt, check_kind=False), user)
        if user == 'emu-readonly' and m not in ('GET',):
            verb = {'POST': 'create', 'PUT': 'update', 'PATCH': 'patch',
                    'DELETE': 'delete' if name else 'deletecollection'}.get(m, m.lower())
            where = ' in the namespace "%s"' % ns if ns else ''
            raise ApiError(403, 'Forbidden', '%s is forbidden: User "emu-readonly" cannot '
                           '%s resource "%s" in API group "%s"%s' % (
                               rt.qualified + (' "%s"' % name if name else ''), verb,
                               rt.plural + ('/' + sub if sub else ''), rt.group, where),
                           {'name': name or '', 'group': rt.group, 'kind': rt.plural})
        ua = self.headers.get('User-Agent', '')
        manager = q.get('fieldManager') or ua.split('/', 1)[0]
        dry = q.get('dryRun') == 'All'
        if q.get('dryRun') and q['dryRun'] != 'All':
            raise bad_request('Invalid dry run value: %s' % q['dryRun'])
        accept = self.headers.get('Accept', '')
        if m == 'GET' and name is None:
            if legacy_watch or q.get('watch') in ('1', 'true'):
                return self.serve_watch(rt, ns, q, accept)
            limit = int(q['limit']) if (q.get('limit') or '0').isdigit() and q.get('limit') else None
            items, rv, cont, rem = store.list(rt, ns, q.get('labelSelector'),
                                              q.get('fieldSelector'), limit, q.get('continue'))
            if wants(accept, 'Table'):
                items = [self.out(rt, o) for o in items]
                return self.send_json(200, to_table(rt, items, rv, q.get('includeObject',
                                                                         'Metadata'), cont, rem))
            meta = {'resourceVersion': str(rv)}
            if cont:
                meta['continue'] = cont
            if rem is not None:
                meta['remainingItemCount'] = rem
            if wants(accept, 'PartialObjectMetadataList'):
                return self.send_json(200, {
                    'kind': 'PartialObjectMetadataList', 'apiVersion': 'meta.k8s.io/v1',
                    'metadata': meta, 'items': [
                        {'kind': 'PartialObjectMetadata', 'apiVersion': 'meta.k8s.io/v1',
                         'metadata': o['metadata']} for o in items]})
            return self.send_json(200, {'kind': rt.list_kind, 'apiVersion': rt.gv,
                                        'metadata': meta,
                                        'items': [self.out(rt, o, item=True) for o in items]})
        if legacy_watch:
            if m == 'GET':   # /watch/.../name: a watch of one object
                q = dict(q, fieldSelector='metadata.name=%s' % name)
                return self.serve_watch(rt, ns, q, accept)
            raise self.method_not_allowed()
        if m == 'GET':
            obj = store.get(rt, ns, name)
            if sub == 'scale':
                return self.send_json(200, store.scale_of(rt, obj))
            if sub == 'log':
                lines = ''.join('%s emulated log line %d of %s\n' % (
                    obj['metadata'].get('creationTimestamp'), i, name) for i in range(3))
                return self.send_body(200, lines.encode(), 'text/plain')
            if sub not in (None, 'status'):
                raise self.method_not_allowed()
            return self.send_obj(200, rt, obj, accept, q)
        if m == 'POST':
            if name is None:
                obj = store.create(rt, ns, self.decode(body, rt), manager, dry)
                return self.send_obj(201, rt, obj, accept, q)
            if sub == 'token':
                store.get(rt, ns, name)
                req = self.decode(body, rt, check_kind=False)
                exp = int((req.get('spec') or {}).get('expirationSeconds') or 3600)
                return self.send_json(201, {
                    'kind': 'TokenRequest', 'apiVersion': 'authentication.k8s.io/v1',
                    'metadata': {'name': name, 'namespace': ns,
                                 'creationTimestamp': None},
                    'spec': dict(req.get('spec') or {}, expirationSeconds=exp),
                    'status': {'token': 'emu.' + base64.urlsafe_b64encode(
                        os.urandom(24)).decode().rstrip('='),
                        'expirationTimestamp': time.strftime(
                            '%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() + exp))}})
            if sub == 'eviction':
                store.delete(rt, ns, name, {}, dry)
                return self.send_json(201, {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {},
                                            'status': 'Success', 'code': 201})
            raise self.method_not_allowed()
        if m == 'PUT' and name:
            b = self.decode(body, rt, check_kind=sub != 'scale')
            if sub == 'scale':
                out, _ = store.update_scale(rt, ns, name, b, manager, dry)
                return self.send_json(200, out)
            if sub == 'finalize':
                cur = store.get(rt, ns, name)
                fin = dict(cur, spec=dict(cur.get('spec') or {},
                                          finalizers=(b.get('spec') or {}).get('finalizers') or []))
                obj, _ = store.update(rt, ns, name, fin, manager, None, dry)
                return self.send_obj(200, rt, obj, accept, q)
            obj, created = store.update(rt, ns, name, b, manager, sub, dry)
            return self.send_obj(201 if created else 200, rt, obj, accept, q)
        if m == 'PATCH' and name:
            ctype = (self.headers.get('Content-Type') or '').split(';')[0].strip()
            if ctype not in ('application/merge-patch+json', 'application/json-patch+json',
                             'application/strategic-merge-patch+json',
                             'application/apply-patch+yaml', 'application/apply-patch+cbor'):
                raise store.unsupported_patch()
            force = q.get('force') in ('true', '1')
            if ctype != 'application/apply-patch+yaml' and 'force' in q:
                raise bad_request('force is only valid for apply patches')
            out, created = store.patch(rt, ns, name, ctype, body, q.get('fieldManager') or (
                '' if ctype == 'application/apply-patch+yaml' else manager), sub, force, dry)
            if sub == 'scale':
                return self.send_json(200, out)
            return self.send_obj(201 if created else 200, rt, out, accept, q)
        if m == 'DELETE':
            opts = self.decode(body, rt, check_kind=False) if body.strip() else {}
            for k in ('propagationPolicy', 'gracePeriodSeconds', 'orphanDependents'):
                if k in q:
                    opts[k] = q[k] if k == 'propagationPolicy' else q[k] == 'true'
            if name is None:
                gone = store.delete_collection(rt, ns, q.get('labelSelector'),
                                               q.get('fieldSelector'), opts, dry)
                with store.lock:
                    rv = store.rv
                return self.send_json(200, {'kind': rt.list_kind, 'apiVersion': rt.gv,
                                            'metadata': {'resourceVersion': str(rv)},
                                            'items': [self.out(rt, o, item=True) for o in gone]})
            obj, code, as_status = store.delete(rt, ns, name, opts, dry)
            if as_status:
                cur = {'name': name}
                if rt.group:
                    cur['group'] = rt.group
                cur['kind'] = rt.plural
                cur['uid'] = obj['metadata']['uid']
                return self.send_json(200, {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {},
                                            'status': 'Success', 'details': cur})
            return self.send_obj(code, rt, obj, accept, q)
        raise self.method_not_allowed()

    def review(self, rt, req, user):
        """Access and identity reviews (kubectl auth can-i / whoami): the admin may do
        anything, the read-only user may get, list and watch."""
        groups = ['system:masters', 'system:authenticated'] if user != 'emu-readonly' else \
            ['system:authenticated']
        out = {'kind': rt.kind, 'apiVersion': rt.gv, 'metadata': {'creationTimestamp': None},
               'spec': req.get('spec') or {}}
        if rt.kind == 'SelfSubjectReview':
            out.pop('spec')
            out['status'] = {'userInfo': {'username': user, 'groups': groups}}
        elif rt.kind == 'TokenReview':
            tok = (req.get('spec') or {}).get('token')
            ok = tok in (self.emu.token, self.emu.ro_token) and tok is not None
            out['status'] = {'authenticated': ok}
            if ok:
                out['status']['user'] = {'username': 'emu-admin' if tok == self.emu.token
                                         else 'emu-readonly', 'groups': groups}
        else:
            ra = (out['spec'].get('resourceAttributes') or {})
            verb = ra.get('verb') or (out['spec'].get('nonResourceAttributes') or {}).get('verb')
            who = out['spec'].get('user') if rt.kind == 'SubjectAccessReview' else user
            allowed = who != 'emu-readonly' or verb in ('get', 'list', 'watch')
            out['status'] = {'allowed': allowed}
            if allowed:
                out['status']['reason'] = ('RBAC: allowed by ClusterRoleBinding "cluster-admin" '
                                           'of ClusterRole "cluster-admin" to Group '
                                           '"system:masters"')
        return self.send_json(201, out)

    @staticmethod
    def method_not_allowed():
        return ApiError(405, 'MethodNotAllowed',
                        'the server does not allow this method on the requested resource')

    def decode(self, body, rt, check_kind=True):
        ctype = (self.headers.get('Content-Type') or 'application/json').split(';')[0].strip()
        try:
            if ctype in ('application/yaml', 'application/x-yaml', 'text/yaml'):
                obj = load_yaml(body.decode())
            elif ctype in ('application/json', '*/*', ''):
                obj = json.loads(body.decode() or 'null')
            elif ctype == 'application/vnd.kubernetes.protobuf':
                try:
                    obj = emu_proto.decode(body)
                except (ValueError, IndexError, UnicodeDecodeError) as e:
                    raise ApiError(415, 'UnsupportedMediaType', 'the body of the request was in '
                                   'an unknown format - accepted media types include: '
                                   'application/json, application/yaml (protobuf: %s)' % e)
            else:
                raise ApiError(415, 'UnsupportedMediaType', 'the body of the request was in an '
                               'unknown format - accepted media types include: '
                               'application/json, application/yaml')
        except (ValueError, yaml.YAMLError) as e:
            raise bad_request('the object provided is unrecognized (must be of type %s): '
                              "couldn't get version/kind; json parse error: %s" % (rt.kind, e))
        if not isinstance(obj, dict):
            raise bad_request('the object provided is unrecognized (must be of type %s): '
                              "couldn't get version/kind; json parse error: expected an object"
                              % rt.kind)
        return obj

    def out(self, rt, o, item=False):
        """An object as the client sees it. Items of a list of a built-in type carry no
        kind/apiVersion (they are typed Go structs on the real server); custom resources,
        single objects and watch events do."""
        if item and not rt.crd:
            return {k: v for k, v in o.items() if k not in ('kind', 'apiVersion')}
        if o.get('apiVersion') != rt.gv:
            o = dict(o, apiVersion=rt.gv)
        return o

    def send_obj(self, code, rt, obj, accept, q):
        obj = self.out(rt, obj)
        if wants(accept, 'Table'):
            with self.emu.store.lock:
                rv = self.emu.store.rv
            return self.send_json(code, to_table(rt, [obj], rv, q.get('includeObject',
                                                                     'Metadata')))
        return self.send_json(code, obj)

    # -- watch --
    def start_stream(self):
        self.send_response(200)
        self.send_header('Audit-Id', str(uuid.uuid4()))
        self.send_header('Cache-Control', 'no-cache, private')
        self.send_header('Content-Type', 'application/json')
        self.send_header('Transfer-Encoding', 'chunked')
        self.end_headers()
        self.status_code = 200

    def check_watch_list(self, q, send_initial, bookmarks):
        """The real server's rules for a streaming list (validateWatchOptions): 422 Invalid
        ListOptions. With --no-watch-list it answers as a server without the WatchList
        feature (before 1.27, or the gate off): sendInitialEvents is forbidden."""
        match = q.get('resourceVersionMatch', '')
        errs = []
        if q.get('sendInitialEvents') is not None:
            if match != 'NotOlderThan':
                errs.append('resourceVersionMatch: Forbidden: sendInitialEvents requires '
                            'setting resourceVersionMatch to NotOlderThan')
            if self.emu.args.no_watch_list:
                errs.append('sendInitialEvents: Forbidden: sendInitialEvents is forbidden for '
                            'watch unless the WatchList feature gate is enabled')
        if match:
            if send_initial is None and q.get('sendInitialEvents') is None:
                errs.append('resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden '
                            'for watch unless sendInitialEvents is provided')
            if match != 'NotOlderThan':
                errs.append('resourceVersionMatch: Unsupported value: "%s": supported values: '
                            '"NotOlderThan"' % match)
            if not bookmarks:
                errs.append('allowWatchBookmarks: Forbidden: allowWatchBookmarks required when '
                            'resourceVersionMatch is set with sendInitialEvents')
        if errs:
            body = errs[0] if len(errs) == 1 else '[' + ', '.join(errs) + ']'
            raise ApiError(422, 'Invalid', 'ListOptions.meta.k8s.io "" is invalid: ' + body,
                           {'group': 'meta.k8s.io', 'kind': 'ListOptions',
                            'causes': [{'reason': 'FieldValueForbidden', 'message': e.split(': ', 1)[1],
                                        'field': e.split(':', 1)[0]} for e in errs]})

    def watch_error_only(self, err):
        self.start_stream()
        self.write_chunk(jdump({'type': 'ERROR', 'object': err.status()}) + b'\n')
        self.wfile.write(b'0\r\n\r\n')

    def serve_watch(self, rt, ns, q, accept):
        store = self.emu.store
        try:
            timeout = float(q['timeoutSeconds']) if q.get('timeoutSeconds') else \
                random.uniform(1800, 3600)   # the real server's default: 30-60 minutes
        except ValueError:
            raise bad_request('invalid timeoutSeconds: %s' % q.get('timeoutSeconds'))
        bookmarks = q.get('allowWatchBookmarks') in ('true', '1')
        send_initial = {'true': True, 'false': False}.get(q.get('sendInitialEvents'))
        self.check_watch_list(q, send_initial, bookmarks)
        w, err = store.start_watch(rt, ns, q.get('labelSelector'), q.get('fieldSelector'),
                                   q.get('resourceVersion'), send_initial)
        table = wants(accept, 'Table')
        include = q.get('includeObject', 'Metadata')
        # a too-old resourceVersion is not an HTTP error on a watch: the stream opens and
        # carries one ERROR event with a 410 Expired Status, then ends
        self.start_stream()
        self.log(self.path.split('?')[0], self.path.partition('?')[2])
        self.logged = True
        if err:
            self.write_chunk(jdump({'type': 'ERROR', 'object': err.status()}) + b'\n')
            self.wfile.write(b'0\r\n\r\n')
            return
        deadline = time.time() + timeout
        every = self.emu.args.bookmark_seconds
        next_bm = time.time() + every
        clean = True
        try:
            while True:
                now = time.time()
                if now >= deadline or self.emu.stop.is_set():
                    break
                # an idle watch looks at its client 4 times a second; with hundreds open, once
                # a second (a thousand watches would otherwise keep a core a quarter busy)
                idle = 0.25 if len(store.watchers) <= 200 else 1.0
                if bookmarks:
                    idle = min(idle, max(0.01, next_bm - now))
                try:
                    item = w.q.get(timeout=min(idle, deadline - now))
                except Exception:   # queue.Empty
                    item = None
                if item is Watcher.CLOSE:
                    break
                if item is None:
                    if self.client_gone():
                        clean = False
                        break
                    if bookmarks and time.time() >= next_bm:
                        next_bm = time.time() + every
                        with store.lock:   # nothing queued under the lock = all seen up to rv
                            pending = not w.q.empty()
                            rv = store.rv
                        if not pending:
                            self.write_chunk(jdump({'type': 'BOOKMARK', 'object': {
                                'kind': rt.kind, 'apiVersion': rt.gv,
                                'metadata': {'resourceVersion': str(rv)}}}) + b'\n')
                    continue
                etype, obj = item
                if etype == 'BOOKMARK-INITIAL':
                    ev = {'type': 'BOOKMARK', 'object': {
                        'kind': rt.kind, 'apiVersion': rt.gv,
                        'metadata': {'resourceVersion': obj, 'annotations': {
                            'k8s.io/initial-events-end': 'true'}}}}
                else:
                    o = self.out(rt, obj)
                    if table:
                        o = to_table(rt, [o], o['metadata']['resourceVersion'], include)
                    ev = {'type': etype, 'object': o}
                self.write_chunk(jdump(ev) + b'\n')
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            clean = False
        finally:
            store.stop_watch(w)
        if clean:
            try:
                self.wfile.write(b'0\r\n\r\n')   # a clean end: the last chunk
            except OSError:
                self.close_connection = True
        else:
            self.close_connection = True

    def client_gone(self):
        """While a watch is idle the client sends nothing (HTTP/1.1 has no pipelining over a
        streaming response), so a readable socket means EOF or a TLS close: it went away.
        poll, not select: with a thousand watches the descriptors pass FD_SETSIZE (1024)."""
        try:
            p = select.poll()
            p.register(self.connection, select.POLLIN)
            return bool(p.poll(0))
        except (OSError, ValueError):
            return True


def main(argv=None):
    p = argparse.ArgumentParser(description='Emulated kube-apiserver for tests '
                                '(see docs/emulator-contract.md)')
    p.add_argument('--port', type=int, default=0)
    p.add_argument('--portfile')
    p.add_argument('--pidfile')
    p.add_argument('--logfile')
    p.add_argument('--tls-dir')
    p.add_argument('--token')
    p.add_argument('--readonly-token', help='a second token that may only read (403 on writes)')
    p.add_argument('--kubeconfig')
    p.add_argument('--seed')
    p.add_argument('--bulk', type=int, default=0)
    p.add_argument('--crds', type=int, default=0,
                   help='create N CustomResourceDefinitions (ten per API group) at start')
    p.add_argument('--crd-objects', type=int, default=1,
                   help='with --crds: objects of each CRD, in namespace crds (default 1)')
    p.add_argument('--history', type=int, default=1000)
    p.add_argument('--audit', help='append every stored change to this file, one JSON line each')
    p.add_argument('--bookmark-seconds', type=float, default=5)
    p.add_argument('--no-watch-list', action='store_true',
                   help='refuse streaming lists (sendInitialEvents) with 422, as a server '
                        'without the WatchList feature does')
    p.add_argument('--verbose', action='store_true', help='log every request to stderr')
    args = p.parse_args(argv)
    # one descriptor per connection, a thousand watches and more: the soft limit (often 1024)
    # up to the hard one
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY
                                                        else max(soft, 1 << 16), hard))
        except (ValueError, OSError):
            pass
    emu = Emulator(args)

    def stop(*_):
        emu.stop.set()
    signal.signal(signal.SIGTERM, stop)   # before the port file: a test may stop us at once
    signal.signal(signal.SIGINT, stop)
    emu.populate()
    emu.listen()
    emu.write_files()
    if emu.verbose:
        sys.stderr.write('kube-emulator listening on 127.0.0.1:%d\n' % emu.port)
    while not emu.stop.wait(0.5):
        pass
    emu.shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
