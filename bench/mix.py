#!/usr/bin/env python3
"""bench/mix.py COPIES OUT - a realistic mix for bench/bench.sh: a seed file for the emulator
(--seed) holding the vendored upstream manifests of tests/fixtures/upstream (CRDs with large
OpenAPI schemas, Grafana dashboards as multi-line ConfigMaps, RBAC, workloads, webhooks; see
its SOURCES.md), with every namespaced object copied into COPIES namespaces (NS, NS-2, ...,
NS-COPIES) and the cluster-scoped ones (CRDs, cluster roles, ...) once. CRDs come first so
that the custom resources after them have a type. Prints the object count."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'fixtures'))
import load  # noqa: E402  (the fixture set's own reader: namespaces as load.py gives them)


def main():
    copies, out = int(sys.argv[1]), sys.argv[2]
    objs = load.plan(load.UPSTREAM)
    first = [o for o in objs if o.kind == 'CustomResourceDefinition']
    cluster = [o for o in objs if not o.namespaced and o.kind != 'CustomResourceDefinition']
    spaced = [o for o in objs if o.namespaced]
    docs = [o.doc for o in first + cluster]
    for c in range(1, copies + 1):
        for o in spaced:
            d = json.loads(json.dumps(o.doc))
            md = d.setdefault('metadata', {})
            md['namespace'] = o.ns if c == 1 else '%s-%d' % (o.ns, c)
            docs.append(d)
    with open(out, 'w', encoding='utf-8') as f:
        # JSON lines are YAML documents too, and load much faster.
        for d in docs:
            f.write('---\n' + json.dumps(d) + '\n')
    print(len(docs))


if __name__ == '__main__':
    main()
