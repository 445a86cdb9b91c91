#!/usr/bin/env python3
"""A hostile or broken kube-apiserver, for the hardening tests (tests/integration/t_hostile.sh).

Plain HTTP on 127.0.0.1, no authentication. It serves just enough of the API for gitopsfs to
mount or export, and misbehaves on request:

  * discovery names that are not Kubernetes names: API groups "../../../../escape", "a/b",
    "..", a version "../v2", resources "..", "UPPER", "evil\\n", ".hidden", a kind "../Kind";
    each also has objects, so that a client that took them would write them somewhere;
  * objects whose namespace is "..", "_cluster" or whose name is "../../x";
  * --list-mb N: the ConfigMap list is N MB of objects in one page, whatever `limit` says;
  * --discovery-mb N: the /api/v1 discovery document is padded to N MiB;
  * --watch garbage: every watch answers 200, then a line that is not JSON, then closes;
    --watch hang (default): every watch answers 200 and sends nothing until timeoutSeconds.

Every request is logged to --logfile as one JSON line {"method", "path", "query", "watch"}.
"""
import argparse
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EVIL_GROUPS = ['../../../../escape', 'a/b', '..']
GOOD_GROUP = 'good.example.com'


def resource(name, kind, namespaced=True):
    return {'name': name, 'singularName': '', 'namespaced': namespaced, 'kind': kind,
            'verbs': ['get', 'list', 'watch', 'create', 'update', 'delete']}


CORE = [resource('configmaps', 'ConfigMap'), resource('namespaces', 'Namespace', False),
        resource('..', 'Dots'), resource('UPPER', 'Upper'), resource('evil\n', 'Evil'),
        resource('.hidden', 'Hidden'), resource('oddkinds', '../Kind')]
GOOD = [resource('widgets', 'Widget'), resource('..', 'Dots'), resource('.hidden', 'Hidden')]
EVIL = [resource('widgets', 'Widget')]


def obj(api_version, kind, name, ns=None, data=None):
    o = {'apiVersion': api_version, 'kind': kind,
         'metadata': {'name': name, 'resourceVersion': '1', 'uid': 'u-' + name,
                      'creationTimestamp': '2024-01-01T00:00:00Z'}}
    if ns is not None:
        o['metadata']['namespace'] = ns
    if data is not None:
        o['data'] = data
    return o


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_handler(args, big_list):
    log_lock = threading.Lock()

    def items_for(path):
        parts = path.strip('/').split('/')
        if path == '/api/v1/configmaps':
            items = [obj('v1', 'ConfigMap', 'plain', 'default', {'k': 'v'}),
                     obj('v1', 'ConfigMap', 'dots', '..', {'k': 'v'}),
                     obj('v1', 'ConfigMap', 'cluster', '_cluster', {'k': 'v'}),
                     obj('v1', 'ConfigMap', '../../x', 'default', {'k': 'v'})]
            return items
        if path == '/api/v1/namespaces':
            return [obj('v1', 'Namespace', 'default'), obj('v1', 'Namespace', 'big')]
        if parts[-1] == 'widgets':  # of any group, even at a URL curl normalised
            return [obj('/'.join(parts[1:-2]) + '/' + parts[-2], 'Widget', 'w1', 'default',
                        {'k': 'v'})]
        if len(parts) >= 3:  # /api/v1/<anything else>
            return [obj('v1', 'Thing', 'x1', 'default')]
        return []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, fmt, *a):
            pass

        def send_json(self, code, doc, raw=None):
            body = raw if raw is not None else json.dumps(doc).encode()
            self.send_response(code)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(url.query)
            path = urllib.parse.unquote(url.path)
            watch = q.get('watch', [''])[0] in ('1', 'true')
            if args.logfile:
                with log_lock, open(args.logfile, 'a') as f:
                    f.write(json.dumps({'method': 'GET', 'path': path, 'query': url.query,
                                        'watch': watch}) + '\n')
            if path in ('/version', '/healthz', '/readyz', '/livez'):
                return self.send_json(200, {'major': '1', 'minor': '32',
                                            'gitVersion': 'v1.32.0'})
            if path == '/api':
                return self.send_json(200, {'kind': 'APIVersions', 'versions': ['v1']})
            if path == '/api/v1':
                return self.send_json(200, {'kind': 'APIResourceList', 'groupVersion': 'v1',
                                            'resources': CORE,
                                            'padding': 'x' * (args.discovery_mb << 20)})
            if path == '/apis':
                groups = [{'name': g, 'versions': [{'groupVersion': g + '/v1', 'version': 'v1'}],
                           'preferredVersion': {'groupVersion': g + '/v1', 'version': 'v1'}}
                          for g in EVIL_GROUPS]
                groups.append({'name': GOOD_GROUP,
                               'versions': [{'groupVersion': GOOD_GROUP + '/v1', 'version': 'v1'},
                                            {'groupVersion': GOOD_GROUP + '/../v2',
                                             'version': '../v2'}],
                               'preferredVersion': {'groupVersion': GOOD_GROUP + '/v1',
                                                    'version': 'v1'}})
                return self.send_json(200, {'kind': 'APIGroupList', 'groups': groups})
            if path == '/apis/%s/v1' % GOOD_GROUP:
                return self.send_json(200, {'kind': 'APIResourceList',
                                            'groupVersion': GOOD_GROUP + '/v1',
                                            'resources': GOOD})
            if path.endswith('/v1'):  # an evil group's, even at a URL curl normalised
                return self.send_json(200, {'kind': 'APIResourceList',
                                            'groupVersion': path[6:], 'resources': EVIL})
            if '/secrets/' in path:  # one Secret (the redaction key): none here
                return self.send_json(404, {'kind': 'Status', 'code': 404,
                                            'reason': 'NotFound', 'message': 'not found'})
            if watch:
                return self.serve_watch(q)
            if path == '/api/v1/configmaps' and big_list is not None:
                return self.send_json(200, None, raw=big_list)
            return self.send_json(200, {'kind': 'List', 'apiVersion': 'v1',
                                        'metadata': {'resourceVersion': '1'},
                                        'items': items_for(path)})

        def do_POST(self):
            n = int(self.headers.get('Content-Length') or 0)
            self.rfile.read(n)
            self.send_json(403, {'kind': 'Status', 'code': 403, 'reason': 'Forbidden',
                                 'message': 'this server takes no writes'})

        def serve_watch(self, q):
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Connection', 'close')
            self.end_headers()
            self.close_connection = True
            if args.watch == 'garbage':
                self.wfile.write(b'this is not a watch event\n')
                self.wfile.flush()
                return
            limit = min(int(q.get('timeoutSeconds', ['300'])[0]), 300)
            end = time.time() + limit
            while time.time() < end:
                time.sleep(0.5)

    return Handler


def big_list_bytes(mb):
    """One page of `mb` megabytes: ConfigMaps of 64 KiB each in namespace big."""
    value = 'x' * 65536
    n = mb * 1000 * 1000 // (65536 + 200)
    parts = [b'{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"1"},'
             b'"items":[']
    for i in range(n):
        item = {'metadata': {'name': 'big-%06d' % i, 'namespace': 'big',
                             'resourceVersion': '1', 'uid': 'b-%d' % i,
                             'creationTimestamp': '2024-01-01T00:00:00Z'},
                'data': {'v': value}}
        parts.append((b',' if i else b'') + json.dumps(item).encode())
    parts.append(b']}')
    return b''.join(parts)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--port', type=int, default=0)
    p.add_argument('--portfile')
    p.add_argument('--logfile')
    p.add_argument('--kubeconfig')
    p.add_argument('--list-mb', type=int, default=0)
    p.add_argument('--watch', choices=['hang', 'garbage'], default='hang')
    p.add_argument('--discovery-mb', type=int, default=0,
                   help='pad the /api/v1 discovery document to this many MiB')
    args = p.parse_args()
    big = big_list_bytes(args.list_mb) if args.list_mb else None
    srv = Server(('127.0.0.1', args.port), make_handler(args, big))
    port = srv.server_address[1]
    if args.kubeconfig:
        with open(args.kubeconfig + '.tmp', 'w') as f:
            f.write('apiVersion: v1\nkind: Config\ncurrent-context: hostile\n'
                    'clusters:\n- name: hostile\n  cluster:\n'
                    '    server: http://127.0.0.1:%d\n'
                    'contexts:\n- name: hostile\n  context: {cluster: hostile, user: u}\n'
                    'users:\n- name: u\n  user: {}\n' % port)
        os.rename(args.kubeconfig + '.tmp', args.kubeconfig)
    if args.portfile:
        with open(args.portfile + '.tmp', 'w') as f:
            f.write('%d\n' % port)
        os.rename(args.portfile + '.tmp', args.portfile)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
