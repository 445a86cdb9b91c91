#!/usr/bin/env python3
"""bench/change_latency.py RUNS API_PATH=FILE... - how long a change made through the API
takes to show in its file in the mount: RUNS merge patches (a label whose value is new each
time), one target after the other, each timed from sending the PATCH until FILE holds the new
value (the answer to the PATCH included). The server and token come from `kubectl config view`
(KUBECONFIG). Prints the median in ms; exits non-zero when a change has not arrived in 10 s."""
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request


def main():
    runs, targets = int(sys.argv[1]), [t.split('=', 1) for t in sys.argv[2:]]
    cfg = json.loads(subprocess.run(['kubectl', 'config', 'view', '--raw', '--minify',
                                     '-o', 'json'], capture_output=True, text=True,
                                    check=True).stdout)
    server = cfg['clusters'][0]['cluster']['server']
    token = cfg['users'][0]['user']['token']
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    lat = []
    for i in range(runs):
        api, path = targets[i % len(targets)]
        want = 'bench-change-%d-%d' % (os.getpid(), i)
        body = json.dumps({'metadata': {'labels': {'bench-change': want}}}).encode()
        req = urllib.request.Request(server + api, data=body, method='PATCH', headers={
            'Authorization': 'Bearer ' + token,
            'Content-Type': 'application/merge-patch+json'})
        t0 = time.monotonic()
        urllib.request.urlopen(req, context=ctx).read()
        while want not in open(path, encoding='utf-8').read():
            if time.monotonic() - t0 > 10:
                sys.exit('%s: the change did not reach %s in 10 s' % (api, path))
            time.sleep(0.0002)
        lat.append(time.monotonic() - t0)
    lat.sort()
    print('%.1f' % (lat[len(lat) // 2] * 1000))


if __name__ == '__main__':
    main()
