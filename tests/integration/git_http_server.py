#!/usr/bin/env python3
"""A private Git server for credential tests: `git http-backend` behind HTTP Basic auth.

Serves the bare repositories under --root on 127.0.0.1 (smart HTTP: clone, fetch, push). With
--token USER:TOKEN every request must carry those credentials (401 with a Basic challenge
otherwise). With --redirect URL every request that passed authentication is answered with a
302 to URL + the request's path, as a moved or hostile server would. Every request is logged to
--logfile as one JSON line {"method", "path", "authorization"} - the Authorization header as it
arrived, so that a test can tell where a token went. With --tls-cert/--tls-key it speaks https,
for tests of certificate verification.
"""
import argparse
import ssl
import base64
import json
import os
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_handler(args):
    lock = threading.Lock()
    want = 'Basic ' + base64.b64encode(args.token.encode()).decode() if args.token else None

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, fmt, *a):
            pass

        def log_request_line(self):
            if args.logfile:
                with lock, open(args.logfile, 'a') as f:
                    f.write(json.dumps({'method': self.command, 'path': self.path,
                                        'authorization': self.headers.get('Authorization')})
                            + '\n')

        def body(self):
            if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
                data = b''
                while True:
                    size = int(self.rfile.readline().strip().split(b';')[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            n = int(self.headers.get('Content-Length') or 0)
            return self.rfile.read(n) if n else b''

        def reply(self, code, headers, data=b''):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def handle_any(self):
            self.log_request_line()
            data = self.body()
            if want and self.headers.get('Authorization') != want:
                # With a Content-Type: libgit2 takes a body without one for
                # no body at all, and would read it as the next answer.
                return self.reply(401, [('WWW-Authenticate', 'Basic realm="git"'),
                                        ('Content-Type', 'text/plain')],
                                  b'authentication required\n')
            if args.redirect:
                return self.reply(302, [('Location', args.redirect.rstrip('/') + self.path)])
            url = urllib.parse.urlsplit(self.path)
            env = dict(os.environ, GIT_PROJECT_ROOT=args.root, GIT_HTTP_EXPORT_ALL='1',
                       PATH_INFO=urllib.parse.unquote(url.path), QUERY_STRING=url.query,
                       REQUEST_METHOD=self.command, REMOTE_USER='tester', REMOTE_ADDR='127.0.0.1',
                       CONTENT_TYPE=self.headers.get('Content-Type', ''),
                       CONTENT_LENGTH=str(len(data)), GIT_HTTP_MAX_REQUEST_BUFFER='100M')
            out = subprocess.run(['git', 'http-backend'], input=data, env=env,
                                 capture_output=True).stdout
            head, _, payload = out.partition(b'\r\n\r\n')
            if not _:
                head, _, payload = out.partition(b'\n\n')
            code, headers = 200, []
            for line in head.decode('latin-1').splitlines():
                k, _, v = line.partition(':')
                if k.lower() == 'status':
                    code = int(v.strip().split()[0])
                elif k:
                    headers.append((k.strip(), v.strip()))
            self.reply(code, headers, payload)

        do_GET = do_POST = handle_any

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--root', required=True)
    p.add_argument('--port', type=int, default=0)
    p.add_argument('--portfile')
    p.add_argument('--logfile')
    p.add_argument('--token', help='USER:TOKEN required on every request')
    p.add_argument('--redirect', help='answer every request with a 302 to this base URL')
    p.add_argument('--tls-cert', help='serve https with this certificate (PEM, chain first)')
    p.add_argument('--tls-key', help='and this key')
    args = p.parse_args()
    srv = Server(('127.0.0.1', args.port), make_handler(args))
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if args.portfile:
        with open(args.portfile + '.tmp', 'w') as f:
            f.write('%d\n' % srv.server_address[1])
        os.rename(args.portfile + '.tmp', args.portfile)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
