#!/usr/bin/env python3
"""tests/soak/soak.py - the fault soak (issue 9, deliverable 7).

For --seconds, several writer processes edit, create and remove ConfigMaps through a gitopsfs
mount while a `gitopsfs sync --sync apply --prune` agent follows a Git repository that a driver
keeps changing. Meanwhile the emulated API server injects bursts of 429 and 503, drops every
watch, compacts its history (410 Gone on resume), restarts (connections reset, a few seconds
down), and the mount and the agent are killed with SIGKILL and started again.

Every operation is recorded with what its caller was told: acknowledged (close() or unlink()
returned 0), refused (an answer that says nothing was done: EINVAL, EBUSY, EAGAIN, EEXIST,
EACCES, EPERM), unsent (the mount was not there: the call never reached gitopsfs) or ambiguous
(the daemon died or the server went away mid-call). The emulator appends every stored change to
an audit file that is never compacted. At the end, after the faults stop and everything
settles, the audit and the live objects are checked:

  acknowledged writes lost   an acknowledged write that never reached the server, or an object
                             whose final state is not its last acknowledged one (or a later
                             ambiguous one); for the agent, a live object that differs from the
                             last commit
  applied twice              an older write stored again after a newer one, or a deletion with
                             no rm (or prune) to account for it
  refused writes applied     a refused write whose unique value reached the server
  files equal to live        every file in the mount holds the live object, no file is missing
                             or extra
  git fsck                   every repository (mount's, agent's, both origins) is clean
  RSS                        the peak resident size of each gitopsfs process stays under a limit

It prints those lines (and TAP with --tap) and exits non-zero when one of them fails.
Values are unique per writer (a sequence number), so each stored change names the operation
that caused it.
"""
import argparse
import errno
import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
DEFINITE = {errno.EINVAL, errno.EBUSY, errno.EAGAIN, errno.EEXIST, errno.EACCES, errno.EPERM,
            errno.EFBIG}
WNS, ANS = 'soak-w', 'soak-a'      # the writers' namespace, the agent's


def log(msg):
    print('# %s %s' % (time.strftime('%H:%M:%S'), msg), flush=True)


def run(cmd, env, check=True, timeout=60, **kw):
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError('%s failed (%d): %s' % (' '.join(cmd), r.returncode, r.stderr.strip()))
    return r


def manifest(name, seq, writer, bad=None):
    # A few lines of filler so an edit is a change inside a real file, not the whole file.
    meta_name = name + '-elsewhere' if bad == 'name' else name
    text = ('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\n'
            '  labels:\n    soak: "true"\ndata:\n  filler: |\n    line one\n    line two\n'
            '  seq: "%d"\n  writer: "%s"\n' % (meta_name, WNS, seq, writer))
    if bad == 'yaml':
        text += '  broken: [unclosed\n'
    return text


# --- writers (separate processes, like separate editors) ----------------------------------------

def writer_main(wid, mnt, nobj, until, outpath, seed):
    rnd = random.Random(seed)
    seq = 0
    names = ['w%d-%d' % (wid, j) for j in range(nobj)]
    with open(outpath, 'a', buffering=1) as out:
        def record(name, op, seq, result, err=0):
            out.write(json.dumps({'obj': name, 'op': op, 'seq': seq, 'result': result,
                                  'errno': err, 't': time.time()}) + '\n')

        def classify(e, opened):
            if not opened:          # no open file, no flush: nothing can have been applied
                return 'unsent'
            return 'refused' if e.errno in DEFINITE else 'ambiguous'

        while time.time() < until:
            name = rnd.choice(names)
            path = os.path.join(mnt, WNS, 'configmaps', name + '.yaml')
            r = rnd.random()
            seq += 1
            if r < 0.15:                                   # rm
                try:
                    os.unlink(path)
                    record(name, 'rm', seq, 'ok')
                except OSError as e:
                    # ENOENT: nothing there to remove (or no mount): nothing was promised
                    res = 'unsent' if e.errno in (errno.ENOENT, errno.ENOTDIR) else \
                        'refused' if e.errno in DEFINITE else 'ambiguous'
                    record(name, 'rm', seq, res, e.errno)
            else:
                op, bad = 'write', None
                if r < 0.22:
                    op, bad = 'invalid', rnd.choice(['yaml', 'name'])
                text = manifest(name, seq, wid, bad)
                if op == 'write' and r < 0.55:
                    # An edit in place: the file as shown, one value changed (exact write-back).
                    try:
                        with open(path) as f:
                            cur = f.read()
                        lines = cur.split('\n')
                        for i, line in enumerate(lines):
                            if line.startswith('  seq: '):
                                lines[i] = '  seq: "%d"' % seq
                                op = 'edit'
                        if op == 'edit':
                            text = '\n'.join(lines)
                    except OSError:
                        pass
                opened = False
                try:
                    f = open(path, 'w')
                    opened = True
                    try:
                        f.write(text)
                    finally:
                        f.close()
                    record(name, op, seq, 'ok')
                except OSError as e:
                    record(name, op, seq, classify(e, opened), e.errno)
            time.sleep(rnd.uniform(0.0, 0.08))


# --- the soak -----------------------------------------------------------------------------------

class Soak:
    def __init__(self, a):
        self.a = a
        self.gfs = a.gfs
        self.t = tempfile.mkdtemp(prefix='gfs-soak.')
        t = self.t
        self.mnt, self.state = os.path.join(t, 'mnt'), os.path.join(t, 'state')
        self.repo = os.path.join(t, 'repo.git')
        self.arepo, self.awork = os.path.join(t, 'agent.git'), os.path.join(t, 'agent-work')
        self.astate = os.path.join(t, 'agent-state')
        self.audit = os.path.join(t, 'audit.jsonl')
        os.makedirs(self.mnt)
        os.makedirs(os.path.join(t, 'home'))
        self.env = dict(os.environ, KUBECONFIG=os.path.join(t, 'kubeconfig'),
                        HOME=os.path.join(t, 'home'), GIT_CONFIG_NOSYSTEM='1',
                        GIT_AUTHOR_NAME='soak', GIT_AUTHOR_EMAIL='soak@example.com',
                        GIT_COMMITTER_NAME='soak', GIT_COMMITTER_EMAIL='soak@example.com')
        self.token = 'soak-token-%d' % os.getpid()
        self.emu = self.agent = None
        self.lock = threading.Lock()       # serialises kills and restarts
        self.rss = {'mount': 0, 'agent': 0}
        self.counts = {}
        self.stop = threading.Event()
        self.agent_expect = {}             # name -> seq, or None once deleted (the last commit)
        self.agent_seq = 0
        self.results = []                  # (name, ok, detail)

    # -- processes --
    def start_emulator(self):
        t = self.t
        self.emu = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, 'tests/apiserver/kube_emulator.py'), '--port', '0',
             '--portfile', os.path.join(t, 'port'), '--tls-dir', os.path.join(t, 'tls'),
             '--token', self.token, '--kubeconfig', self.env['KUBECONFIG'],
             '--bookmark-seconds', '1', '--audit', self.audit],
            stdout=open(os.path.join(t, 'emulator.out'), 'w'), stderr=subprocess.STDOUT)
        for _ in range(200):
            if os.path.exists(self.env['KUBECONFIG']) and os.path.getsize(self.env['KUBECONFIG']):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError('the emulator did not start')
        with open(os.path.join(t, 'port')) as f:
            self.url = 'https://127.0.0.1:%s' % f.read().strip()

    def control(self, method, path, body=None):
        cmd = ['curl', '-sS', '-m', '10', '--cacert', os.path.join(self.t, 'tls', 'ca.crt'),
               '-H', 'Authorization: Bearer ' + self.token, '-X', method, self.url + path]
        if body is not None:
            cmd += ['-H', 'Content-Type: application/json', '-d', json.dumps(body)]
        return run(cmd, self.env, check=False, timeout=20)

    def daemon_pid(self):
        r = run(['pgrep', '-f', '[g]itopsfs mount --state-dir %s ' % self.state], self.env,
                check=False)
        pids = r.stdout.split()
        return int(pids[0]) if pids else None

    def mount(self):
        """Mounts, retrying while the server refuses (a mount needs its first list)."""
        for attempt in range(60):
            if self.stop.is_set() and attempt > 30:
                break
            r = run([self.gfs, 'mount', '--state-dir', self.state, self.repo, self.mnt], self.env,
                    check=False, timeout=120)
            if r.returncode == 0:
                return True
            time.sleep(0.5)
        raise RuntimeError('gitopsfs mount did not come back: %s' % r.stderr.strip())

    def kill_mount(self):
        pid = self.daemon_pid()
        if pid:
            os.kill(pid, signal.SIGKILL)
            for _ in range(100):
                if self.daemon_pid() is None:
                    break
                time.sleep(0.05)
        run(['fusermount3', '-uz', self.mnt], self.env, check=False)

    def start_agent(self):
        self.agent = subprocess.Popen(
            [self.gfs, 'sync', '--sync', 'apply', '--interval', '1', '--prune',
             '--state-dir', self.astate, self.arepo],
            env=self.env, stdout=open(os.path.join(self.t, 'agent.log'), 'a'),
            stderr=subprocess.STDOUT)

    def kill_agent(self):
        if self.agent:
            self.agent.kill()
            self.agent.wait()

    # -- the agent's repository --
    def agent_commit(self, rnd):
        d = os.path.join(self.awork, ANS, 'configmaps')
        os.makedirs(d, exist_ok=True)
        for _ in range(rnd.randint(1, 3)):
            name = 'a-%d' % rnd.randrange(self.a.agent_objects)
            path = os.path.join(d, name + '.yaml')
            self.agent_seq += 1
            if os.path.exists(path) and rnd.random() < 0.25:
                os.unlink(path)
                self.agent_expect[name] = None
            else:
                with open(path, 'w') as f:
                    f.write('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n'
                            '  namespace: %s\ndata:\n  seq: "%d"\n' % (name, ANS, self.agent_seq))
                self.agent_expect[name] = self.agent_seq
        g = ['git', '-C', self.awork]
        run(g + ['add', '-A'], self.env)
        run(g + ['commit', '-qm', 'soak %d' % self.agent_seq], self.env)
        run(g + ['push', '-q', 'origin', 'HEAD:main'], self.env)

    def agent_driver(self, until):
        rnd = random.Random(self.a.seed + 1)
        while time.time() < until and not self.stop.is_set():
            self.agent_commit(rnd)
            time.sleep(rnd.uniform(0.3, 1.2))

    # -- faults --
    def faults(self, until):
        rnd = random.Random(self.a.seed + 2)
        kinds = ['429', '503', 'close-watches', 'compact', 'restart-api', 'kill-mount',
                 'kill-agent']
        weights = [3, 3, 2, 2, 1, 2, 1]
        first = rnd.sample(kinds, len(kinds))      # every kind at least once, even in a short run
        while time.time() < until - 2 and not self.stop.is_set():
            time.sleep(rnd.uniform(0.5, self.a.fault_gap))
            k = first.pop() if first else rnd.choices(kinds, weights)[0]
            self.counts[k] = self.counts.get(k, 0) + 1
            if k in ('429', '503'):
                prefix = rnd.choice(['', '/api/v1', '/apis', '/api/v1/namespaces/' + WNS,
                                     '/api/v1/namespaces/' + ANS])
                self.control('POST', '/_emu/faults', {
                    'status': int(k), 'count': rnd.randint(2, 12), 'path_prefix': prefix,
                    'message': 'soak: injected %s' % k})
            elif k == 'close-watches':
                self.control('POST', '/_emu/close-watches')
            elif k == 'compact':
                self.control('POST', '/_emu/compact')
            elif k == 'restart-api':
                self.control('POST', '/_emu/down', {'seconds': rnd.uniform(0.5, 2.5)})
            elif k == 'kill-mount':
                with self.lock:
                    self.kill_mount()
                    time.sleep(rnd.uniform(0, 0.5))
                    self.mount()
            elif k == 'kill-agent':
                with self.lock:
                    self.kill_agent()
                    self.start_agent()

    def sample_rss(self):
        def rss(pid):
            try:
                with open('/proc/%d/status' % pid) as f:
                    for line in f:
                        if line.startswith('VmRSS:'):
                            return int(line.split()[1]) // 1024
            except OSError:
                pass
            return 0
        while not self.stop.is_set():
            pid = self.daemon_pid()
            if pid:
                self.rss['mount'] = max(self.rss['mount'], rss(pid))
            if self.agent and self.agent.poll() is None:
                self.rss['agent'] = max(self.rss['agent'], rss(self.agent.pid))
            time.sleep(0.5)

    # -- checks --
    def live(self, ns):
        r = run(['kubectl', 'get', 'configmaps', '-n', ns, '-o', 'json'], self.env, timeout=30)
        return {o['metadata']['name']: o for o in json.loads(r.stdout)['items']}

    def settle(self):
        """After the faults: everything up, the journal drained, the agent at the last commit."""
        self.control('DELETE', '/_emu/faults')
        time.sleep(3)                                   # an API server restart in progress ends
        self.control('DELETE', '/_emu/faults')
        with self.lock:
            if self.daemon_pid() is None or not os.path.ismount(self.mnt):
                self.kill_mount()
                self.mount()
            if self.agent.poll() is not None:
                self.start_agent()
        deadline = time.time() + 90
        journal = os.path.join(self.state, 'deletes')
        while time.time() < deadline:
            pending = os.listdir(journal) if os.path.isdir(journal) else []
            live = self.live(ANS)
            agent_ok = all((live.get(n) or {}).get('data', {}).get('seq') == (
                None if s is None else str(s)) for n, s in self.agent_expect.items())
            if not pending and agent_ok:
                break
            time.sleep(0.5)
        time.sleep(2)                                   # the mount's watches catch up

    def check_writers(self, ops, audit):
        lost, twice, refused_applied = [], [], []
        stored = {}                    # obj -> set of seqs stored
        for ev in audit:
            if ev['namespace'] == WNS and ev['type'] in ('ADDED', 'MODIFIED') and ev['data']:
                stored.setdefault(ev['name'], set()).add(int(ev['data'].get('seq', -1)))
        for o in ops:
            if o['op'] in ('write', 'edit') and o['result'] == 'ok' and \
                    o['seq'] not in stored.get(o['obj'], ()):
                lost.append('%s seq %d acknowledged, never stored' % (o['obj'], o['seq']))
            if o['result'] == 'refused' and o['seq'] in stored.get(o['obj'], ()):
                refused_applied.append('%s seq %d (%s, %s) was refused but stored' % (
                    o['obj'], o['seq'], o['op'], errno.errorcode.get(o['errno'], o['errno'])))
            if o['op'] == 'invalid' and o['result'] == 'ok':
                refused_applied.append('%s seq %d: an invalid manifest was acknowledged' % (
                    o['obj'], o['seq']))
        # The final state: the last acknowledged operation's, or that of a later ambiguous one.
        live = self.live(WNS)
        byobj = {}
        for o in ops:
            byobj.setdefault(o['obj'], []).append(o)
        for name, lst in byobj.items():
            lst.sort(key=lambda o: o['seq'])
            cands, last_ok = set(), None
            for o in lst:
                if o['op'] == 'invalid' or o['result'] in ('refused', 'unsent'):
                    continue
                st = None if o['op'] == 'rm' else o['seq']
                if o['result'] == 'ok':
                    cands, last_ok = {st}, st
                else:
                    cands.add(st)
            if not cands:
                cands = {None}
            got = live.get(name)
            got = None if got is None else int((got.get('data') or {}).get('seq', -1))
            if got not in cands:
                lost.append('%s is %s at the end; the last acknowledged state is %s%s' % (
                    name, 'absent' if got is None else 'seq %d' % got,
                    'absent' if last_ok is None else 'seq %d' % last_ok,
                    '' if len(cands) == 1 else ' (or one of %s)' % sorted(
                        cands, key=lambda c: -1 if c is None else c)))
        twice += self.regressions(audit, WNS, byobj)
        return lost, twice, refused_applied

    def regressions(self, audit, ns, byobj=None):
        """An older value stored after a newer one, or a deletion nobody asked for."""
        out, last, deletes = [], {}, {}
        for ev in audit:
            if ev['namespace'] != ns or ev['resource'] != 'configmaps':
                continue
            name = ev['name']
            if ev['type'] == 'DELETED':
                deletes[name] = deletes.get(name, 0) + 1
                continue
            seq = int((ev['data'] or {}).get('seq', -1))
            if seq < last.get(name, -1):
                out.append('%s: seq %d stored after seq %d' % (name, seq, last[name]))
            last[name] = max(seq, last.get(name, -1))
        if byobj is not None:
            for name, n in deletes.items():
                asked = sum(1 for o in byobj.get(name, []) if o['op'] == 'rm' and
                            o['result'] in ('ok', 'ambiguous'))
                if n > asked:
                    out.append('%s deleted %d times, rm asked %d times' % (name, n, asked))
        return out

    def check_agent(self, audit):
        live = self.live(ANS)
        lost = []
        for name, seq in sorted(self.agent_expect.items()):
            got = live.get(name)
            got = None if got is None else (got.get('data') or {}).get('seq')
            want = None if seq is None else str(seq)
            if got != want:
                lost.append('agent: %s is %s, the last commit says %s' % (
                    name, got or 'absent', want or 'absent'))
        return lost, self.regressions(audit, ANS)

    def check_files(self):
        bad, n = [], 0
        for ns in (WNS, ANS):
            # Only the soak's own objects: the namespace's kube-root-ca.crt is hidden by design.
            live = {k: v for k, v in self.live(ns).items()
                    if (v['metadata'].get('labels') or {}).get('soak') == 'true' or
                    k.startswith('a-')}
            d = os.path.join(self.mnt, ns, 'configmaps')
            files = {f[:-5] for f in os.listdir(d) if f.endswith('.yaml')} if os.path.isdir(d) \
                else set()
            for name in sorted(files | set(live)):
                n += 1
                if name not in live:
                    bad.append('%s/%s: a file with no live object' % (ns, name))
                    continue
                if name not in files:
                    bad.append('%s/%s: a live object with no file' % (ns, name))
                    continue
                with open(os.path.join(d, name + '.yaml')) as f:
                    doc = yaml.safe_load(f)
                if doc.get('data') != live[name].get('data') or \
                        doc['metadata'].get('name') != name:
                    bad.append('%s/%s: the file differs from the live object' % (ns, name))
        return n, bad

    def fsck(self):
        bad = []
        dirs = [self.repo, self.arepo]
        for top in (self.state, self.astate):
            for dp, dn, fn in os.walk(top):
                if 'HEAD' in fn and 'objects' in dn and 'refs' in dn:
                    dirs.append(dp)
                    dn[:] = []
        for d in dirs:
            r = run(['git', '--git-dir', d, 'fsck', '--no-progress', '--no-dangling'], self.env,
                    check=False, timeout=120)
            if r.returncode != 0:
                bad.append('%s: %s' % (d, (r.stderr or r.stdout).strip()[:400]))
        return len(dirs), bad

    # -- the whole run --
    def main(self):
        a = self.a
        self.start_emulator()
        for ns in (WNS, ANS):
            run(['kubectl', 'create', 'namespace', ns], self.env)
        run(['git', 'init', '-q', '--bare', '-b', 'main', self.repo], self.env)
        run(['git', 'init', '-q', '--bare', '-b', 'main', self.arepo], self.env)
        run(['git', 'clone', '-q', self.arepo, self.awork], self.env)
        run(['git', '-C', self.awork, 'checkout', '-q', '-b', 'main'], self.env, check=False)
        rnd = random.Random(a.seed)
        self.agent_commit(rnd)
        self.mount()
        self.start_agent()
        threading.Thread(target=self.sample_rss, daemon=True).start()
        until = time.time() + a.seconds
        log('soak for %d s: %d writers, %d objects each; agent with %d objects; in %s' % (
            a.seconds, a.writers, a.objects, a.agent_objects, self.t))
        procs = []
        for w in range(a.writers):
            p = multiprocessing.Process(target=writer_main, args=(
                w, self.mnt, a.objects, until, os.path.join(self.t, 'writer-%d.jsonl' % w),
                a.seed * 100 + w))
            p.start()
            procs.append(p)
        threads = [threading.Thread(target=self.agent_driver, args=(until,)),
                   threading.Thread(target=self.faults, args=(until,))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        for p in procs:
            p.join(timeout=60)
        log('faults injected: %s' % ', '.join('%s %d' % kv for kv in sorted(self.counts.items())))
        self.settle()
        self.stop.set()

        ops = []
        for w in range(a.writers):
            with open(os.path.join(self.t, 'writer-%d.jsonl' % w)) as f:
                ops += [json.loads(line) for line in f]
        with open(self.audit) as f:
            audit = [json.loads(line) for line in f]
        tally, why = {}, {}
        for o in ops:
            tally[o['result']] = tally.get(o['result'], 0) + 1
            if o['result'] != 'ok':
                k = '%s %s %s' % (o['op'], o['result'], errno.errorcode.get(o['errno'], '-'))
                why[k] = why.get(k, 0) + 1
        log('writer operations: %d (%s); agent commits: %d' % (
            len(ops), ', '.join('%s %d' % kv for kv in sorted(tally.items())), self.agent_seq))
        log('not acknowledged: %s' % ', '.join('%s: %d' % kv for kv in sorted(why.items())))
        lost, twice, refused = self.check_writers(ops, audit)
        alost, atwice = self.check_agent(audit)
        lost += alost
        twice += atwice
        nfiles, badfiles = self.check_files()
        nrepos, badgit = self.fsck()
        rss_bad = ['%s peaked at %d MB, over the %d MB limit' % (k, v, a.rss_limit_mb)
                   for k, v in self.rss.items() if v > a.rss_limit_mb]

        def report(name, ok, line, problems):
            print(line)
            for p in problems[:20]:
                print('#   ' + p)
            self.results.append((name, ok))
        report('acknowledged writes lost', not lost,
               'acknowledged writes lost: %d' % len(lost), lost)
        report('applied twice', not twice, 'applied twice: %d' % len(twice), twice)
        report('refused writes applied', not refused,
               'refused writes applied: %d' % len(refused), refused)
        report('files equal to live objects', not badfiles, 'files equal to live objects: %s '
               '(%d objects, %d differ)' % ('yes' if not badfiles else 'NO', nfiles,
                                            len(badfiles)), badfiles)
        report('git fsck clean', not badgit, 'git fsck: %s (%d repositories)' % (
            'clean' if not badgit else 'ERRORS', nrepos), badgit)
        report('RSS bounded', not rss_bad, 'RSS: mount peak %d MB, agent peak %d MB (limit %d MB)'
               % (self.rss['mount'], self.rss['agent'], a.rss_limit_mb), rss_bad)
        acked = tally.get('ok', 0)
        report('enough acknowledged operations to mean something', acked >= a.writers * 5,
               'acknowledged writer operations: %d' % acked, [])
        if a.tap:
            for i, (name, ok) in enumerate(self.results, 1):
                print('%s %d - soak: %s' % ('ok' if ok else 'not ok', i, name))
            print('1..%d' % len(self.results))
        return all(ok for _, ok in self.results)

    def cleanup(self):
        self.stop.set()
        try:
            if self.daemon_pid():
                run(['fusermount3', '-u', self.mnt], self.env, check=False)
                for _ in range(100):
                    if self.daemon_pid() is None:
                        break
                    time.sleep(0.1)
            run(['fusermount3', '-uz', self.mnt], self.env, check=False)
        finally:
            if self.agent and self.agent.poll() is None:
                self.agent.terminate()
                try:
                    self.agent.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.agent.kill()
            if self.emu:
                self.emu.terminate()
            if not os.environ.get('GFS_KEEP'):
                shutil.rmtree(self.t, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seconds', type=int, default=int(os.environ.get('SOAK_SECONDS', 180)))
    p.add_argument('--writers', type=int, default=4)
    p.add_argument('--objects', type=int, default=6, help='ConfigMaps per writer')
    p.add_argument('--agent-objects', type=int, default=10)
    p.add_argument('--fault-gap', type=float, default=3.0, help='most seconds between faults')
    p.add_argument('--seed', type=int, default=int(os.environ.get('SOAK_SEED', time.time())))
    p.add_argument('--rss-limit-mb', type=int,
                   default=int(os.environ.get('SOAK_RSS_LIMIT_MB', 200)))
    p.add_argument('--gfs', default=os.environ.get('GFS_BIN', os.path.join(ROOT, 'build',
                                                                           'gitopsfs')))
    p.add_argument('--tap', action='store_true', help='also print TAP lines')
    a = p.parse_args()
    log('seed %d (SOAK_SEED=%d repeats this run\'s choices)' % (a.seed, a.seed))
    s = Soak(a)
    try:
        ok = s.main()
    finally:
        s.cleanup()
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
