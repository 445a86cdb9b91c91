#!/usr/bin/env python3
"""proc_check.py PID [PORT...]: what a process holds, one "name value" line each, from /proc.

  threads       Threads: of /proc/PID/status
  fds           entries of /proc/PID/fd
  sockets       of them, sockets (any family)
  tcp           of them, TCP sockets (IPv4 and IPv6, any state but LISTEN)
  tcp_to_PORT   of them, TCP sockets whose remote port is PORT (one line per PORT given)
  rss_kib       VmRSS of /proc/PID/status
  nofile_soft   the soft RLIMIT_NOFILE ("Max open files" of /proc/PID/limits; "unlimited"
                as is)

Sockets are matched by inode: each "socket:[INODE]" link of /proc/PID/fd against the inode
column of /proc/PID/net/tcp and tcp6 (the process's own network namespace). Works for any
process of the same user, without ss or privileges. Used by tests/integration/t_h2.sh and
bench/bench_crds.sh.
"""
import os
import sys


def tcp_table(pid):
    """inode -> (remote port, state) for every TCP socket in the process's namespace."""
    out = {}
    for name in ('tcp', 'tcp6'):
        try:
            with open('/proc/%s/net/%s' % (pid, name)) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if len(cols) < 10:
                        continue
                    rport = int(cols[2].rsplit(':', 1)[1], 16)
                    out[cols[9]] = (rport, cols[3])
        except OSError:
            pass
    return out


def status_field(pid, key):
    with open('/proc/%s/status' % pid) as f:
        for line in f:
            if line.startswith(key + ':'):
                return line.split()[1]
    return ''


def nofile_soft(pid):
    with open('/proc/%s/limits' % pid) as f:
        for line in f:
            if line.startswith('Max open files'):
                return line[len('Max open files'):].split()[0]
    return ''


def main(argv):
    if len(argv) < 2:
        sys.exit('usage: proc_check.py PID [PORT...]')
    pid, ports = argv[1], [int(p) for p in argv[2:]]
    fddir = '/proc/%s/fd' % pid
    inodes = []
    fds = 0
    for fd in os.listdir(fddir):
        try:
            link = os.readlink(os.path.join(fddir, fd))
        except OSError:   # closed meanwhile
            continue
        fds += 1
        if link.startswith('socket:['):
            inodes.append(link[len('socket:['):-1])
    table = tcp_table(pid)
    listen = '0A'
    tcp = [table[i] for i in inodes if i in table and table[i][1] != listen]
    print('threads', status_field(pid, 'Threads'))
    print('fds', fds)
    print('sockets', len(inodes))
    print('tcp', len(tcp))
    for p in ports:
        print('tcp_to_%d' % p, sum(1 for rport, _ in tcp if rport == p))
    print('rss_kib', status_field(pid, 'VmRSS'))
    print('nofile_soft', nofile_soft(pid))


if __name__ == '__main__':
    main(sys.argv)
