"""Patch formats and field ownership for the emulated kube-apiserver.

Pure functions, no server state: JSON merge patch (RFC 7386), JSON patch (RFC 6902), an
approximation of strategic merge patch, and the field sets behind metadata.managedFields
(fieldsV1) that server-side apply uses to find conflicts and to remove fields a manager
stopped applying.
"""
import copy
import json

# Strategic merge patch: which lists are merged element by element, and by which key. The real
# server reads this from the Go struct tags (patchStrategy=merge, patchMergeKey=...); lists not
# named here are atomic and replaced whole, as for e.g. `args`, `command` or RBAC `subjects`.
MERGE_KEYS = {
    'containers': 'name', 'initContainers': 'name', 'ephemeralContainers': 'name',
    'volumes': 'name', 'env': 'name', 'imagePullSecrets': 'name', 'resourceClaims': 'name',
    'volumeMounts': 'mountPath', 'volumeDevices': 'devicePath', 'hostAliases': 'ip',
    'topologySpreadConstraints': 'topologyKey', 'ownerReferences': 'uid',
    'conditions': 'type', 'ephemeralContainerStatuses': 'name',
}
# Lists of scalars merged as sets (patchStrategy=merge on a []string).
MERGE_SETS = {'finalizers'}


def list_merge_key(field, items):
    """The merge key of list `field` or None when the list is atomic. `ports` is the one field
    whose key depends on where it is: containerPort in a container, port in a Service."""
    if field == 'ports':
        dicts = [i for i in items if isinstance(i, dict)]
        if dicts and all('containerPort' in i for i in dicts):
            return 'containerPort'
        if dicts and all('port' in i for i in dicts):
            return 'port'
        return None
    return MERGE_KEYS.get(field)


class PatchError(Exception):
    """A patch that cannot be applied; the server answers 422 (or 400 when undecodable)."""

    def __init__(self, message, code=422):
        super().__init__(message)
        self.code = code


# --- RFC 7386 JSON merge patch --------------------------------------------------------------

def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


# --- RFC 6902 JSON patch --------------------------------------------------------------------

def _pointer(path):
    if path == '':
        return []
    if not path.startswith('/'):
        raise PatchError('invalid JSON pointer: "%s"' % path, 400)
    return [p.replace('~1', '/').replace('~0', '~') for p in path[1:].split('/')]


def _walk(doc, parts, op, path):
    cur = doc
    for p in parts:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise PatchError('%s operation does not apply: doc is missing path: "%s": missing value'
                             % (op, path))
    return cur


def _get(doc, path, op):
    parts = _pointer(path)
    return _walk(doc, parts, op, path)


def _remove(doc, path, op='remove'):
    parts = _pointer(path)
    if not parts:
        raise PatchError('%s operation does not apply: cannot remove the root' % op)
    parent = _walk(doc, parts[:-1], op, path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise PatchError('%s operation does not apply: doc is missing path: "%s": missing value'
                     % (op, path))


def _add(doc, path, value, op='add', replace=False):
    parts = _pointer(path)
    if not parts:
        return value
    parent = _walk(doc, parts[:-1], op, path)
    last = parts[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError('replace operation does not apply: doc is missing key: %s: missing value'
                             % path)
        parent[last] = value
    elif isinstance(parent, list):
        if last == '-' and not replace:
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent) - (1 if replace else 0):
            if replace:
                parent[int(last)] = value
            else:
                parent.insert(int(last), value)
        else:
            raise PatchError('%s operation does not apply: doc is missing path: "%s": missing value'
                             % (op, path))
    else:
        raise PatchError('%s operation does not apply: doc is missing path: "%s": missing value'
                         % (op, path))
    return doc


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise PatchError('json: cannot unmarshal object into Go value of type jsonpatch.Patch', 400)
    doc = copy.deepcopy(doc)
    for o in ops:
        if not isinstance(o, dict) or 'op' not in o:
            raise PatchError('Unexpected kind: <nil>', 400)
        op, path = o['op'], o.get('path', '')
        if op == 'add':
            doc = _add(doc, path, copy.deepcopy(o.get('value')))
        elif op == 'remove':
            _remove(doc, path)
        elif op == 'replace':
            doc = _add(doc, path, copy.deepcopy(o.get('value')), 'replace', replace=True)
        elif op == 'move':
            v = _remove(doc, o.get('from', ''), 'move')
            doc = _add(doc, path, v, 'move')
        elif op == 'copy':
            v = copy.deepcopy(_get(doc, o.get('from', ''), 'copy'))
            doc = _add(doc, path, v, 'copy')
        elif op == 'test':
            try:
                cur = _get(doc, path, 'test')
            except PatchError:
                cur = None
            if cur != o.get('value'):
                raise PatchError('testing value %s failed: test failed' % path)
        else:
            raise PatchError('Unexpected kind: %s' % op, 400)
    return doc


# --- strategic merge patch (approximation of k8s.io/apimachinery/pkg/util/strategicpatch) ----

def _strip_directives(v):
    if isinstance(v, dict):
        return {k: _strip_directives(x) for k, x in v.items()
                if not k.startswith('$') and x is not None}
    if isinstance(v, list):
        return [_strip_directives(x) for x in v
                if not (isinstance(x, dict) and x.get('$patch') == 'delete')]
    return v


def _smp_list(orig, patch, field):
    if any(isinstance(i, dict) and i.get('$patch') == 'replace' for i in patch):
        return [_strip_directives(i) for i in patch
                if not (isinstance(i, dict) and i.get('$patch') == 'replace')]
    if field in MERGE_SETS:
        out = list(orig)
        out += [v for v in patch if v not in out]
        return out
    key = list_merge_key(field, list(orig) + list(patch))
    if key is None:
        return _strip_directives(patch)
    out = copy.deepcopy(list(orig))
    for item in patch:
        if not isinstance(item, dict):
            out.append(item)
            continue
        idx = next((n for n, o in enumerate(out)
                    if isinstance(o, dict) and key in item and o.get(key) == item.get(key)), None)
        if item.get('$patch') == 'delete':
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append(_strip_directives(item))
        else:
            out[idx] = strategic_merge_patch(out[idx], item)
    return out


def _order(items, order, key):
    """$setElementOrder/<field>: what kubectl apply sends so that merged lists keep the order
    of the manifest; items not named keep their place after the named ones. key None: a list
    of scalars (a set list such as finalizers)."""
    def ident(i):
        return i.get(key) if (key and isinstance(i, dict)) else i
    wanted = [ident(o) for o in order]
    named = sorted([i for i in items if ident(i) in wanted], key=lambda i: wanted.index(ident(i)))
    return named + [i for i in items if ident(i) not in wanted]


def strategic_merge_patch(orig, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get('$patch') == 'replace':
        return _strip_directives({k: v for k, v in patch.items() if k != '$patch'})
    result = copy.deepcopy(orig) if isinstance(orig, dict) else {}
    orders = {}
    for k, v in patch.items():
        if k.startswith('$setElementOrder/'):
            orders[k.split('/', 1)[1]] = v
        elif k.startswith('$deleteFromPrimitiveList/'):
            f = k.split('/', 1)[1]
            if isinstance(result.get(f), list):
                result[f] = [x for x in result[f] if x not in (v or [])]
        elif k.startswith('$'):
            continue
        elif v is None:
            result.pop(k, None)
        elif isinstance(v, dict):
            if v.get('$patch') == 'delete':
                result.pop(k, None)
            else:
                result[k] = strategic_merge_patch(result.get(k), v)
        elif isinstance(v, list):
            cur = result.get(k)
            result[k] = _smp_list(cur if isinstance(cur, list) else [], v, k)
        else:
            result[k] = v
    for f, order in orders.items():
        key = list_merge_key(f, result.get(f) or [])
        if isinstance(result.get(f), list) and isinstance(order, list) and \
                (key or f in MERGE_SETS):
            result[f] = _order(result[f], order, key)
    if '$retainKeys' in patch and isinstance(patch['$retainKeys'], list):
        result = {k: v for k, v in result.items() if k in patch['$retainKeys']}
    return result


# --- field sets (managedFields fieldsV1) ------------------------------------------------------
#
# A field set is a Python set of paths; a path is a tuple of fieldsV1 keys:
#   'f:spec'               a field of a map
#   'k:{"name":"web"}'     an element of a keyed list (containers, env, ports ...)
#   'v:"kubernetes"'       a member of a set list (finalizers)
#   '.'                    the list element itself (so that removing it can be decided)
# fieldsV1 is the same as nested maps whose leaves are {}.

# Server-owned metadata never appears in managedFields.
SKIP_META = {'name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
             'managedFields', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink',
             'generateName'}


def _kv(key, val):
    return 'k:' + json.dumps({key: val}, separators=(',', ':'), sort_keys=True)


def flatten(obj, prefix=(), top=True):
    """path -> leaf value for every owned field of obj."""
    out = {}
    if not isinstance(obj, dict):
        return out
    for k, v in obj.items():
        if top and k in ('apiVersion', 'kind'):
            continue
        if prefix == ('f:metadata',) and k in SKIP_META:
            continue
        p = prefix + ('f:' + k,)
        if isinstance(v, dict) and v:
            out.update(flatten(v, p, False))
        elif isinstance(v, list) and v and k in MERGE_SETS:
            for x in v:
                out[p + ('v:' + json.dumps(x),)] = x
        elif isinstance(v, list) and v and list_merge_key(k, v) and \
                all(isinstance(i, dict) and list_merge_key(k, v) in i for i in v):
            key = list_merge_key(k, v)
            for item in v:
                kp = p + (_kv(key, item[key]),)
                out[kp + ('.',)] = item[key]
                out.update(flatten(item, kp, False))
        else:
            out[p] = v
    return out


def to_fields_v1(paths):
    root = {}
    for p in sorted(paths):
        node = root
        for el in p:
            node = node.setdefault(el, {})
    return root


def from_fields_v1(fv1, prefix=()):
    out = set()
    if not isinstance(fv1, dict):
        return out
    for k, v in fv1.items():
        p = prefix + (k,)
        if isinstance(v, dict) and v:
            out |= from_fields_v1(v, p)
        else:
            out.add(p)
    return out


def path_string(path):
    """'.spec.template.spec.containers[name="web"].image', as in SSA conflict messages."""
    s = ''
    for el in path:
        if el.startswith('f:'):
            s += '.' + el[2:]
        elif el.startswith('k:'):
            d = json.loads(el[2:])
            s += '[' + ','.join('%s=%s' % (k, json.dumps(v)) for k, v in d.items()) + ']'
        elif el.startswith('v:'):
            s += '[=%s]' % el[2:]
    return s


def remove_path(obj, path):
    """Remove the field (or list element, for a path ending in '.') at path from obj, then
    drop maps and lists left empty by that (as the real SSA does for fields nobody owns)."""
    trail = []
    cur = obj
    for el in path:
        if el == '.':
            break
        trail.append((cur, el))
        if el.startswith('f:'):
            if not isinstance(cur, dict) or el[2:] not in cur:
                return
            cur = cur[el[2:]]
        elif el.startswith('k:'):
            want = json.loads(el[2:])
            if not isinstance(cur, list):
                return
            nxt = next((i for i in cur if isinstance(i, dict)
                        and all(i.get(a) == b for a, b in want.items())), None)
            if nxt is None:
                return
            cur = nxt
        elif el.startswith('v:'):
            if isinstance(cur, list):
                v = json.loads(el[2:])
                if v in cur:
                    cur.remove(v)
            trail.pop()
            cur = None
            break
    if cur is not None and trail:
        parent, el = trail.pop()
        if el.startswith('f:'):
            parent.pop(el[2:], None)
        else:
            parent.remove(cur)
    # prune empty containers, but never the top-level fields themselves
    while len(trail) > 1:
        parent, el = trail.pop()
        child = parent.get(el[2:]) if el.startswith('f:') else None
        if el.startswith('f:') and child in ({}, []):
            parent.pop(el[2:], None)
        else:
            break


def apply_merge(live, applied):
    """Server-side apply's merge of an applied configuration into the live object: maps
    merged, keyed lists merged by key, everything else (scalars, atomic lists) replaced."""
    if not isinstance(applied, dict) or not isinstance(live, dict):
        return copy.deepcopy(applied)
    out = copy.deepcopy(live)
    for k, v in applied.items():
        cur = out.get(k)
        if isinstance(v, dict) and isinstance(cur, dict):
            out[k] = apply_merge(cur, v)
        elif isinstance(v, list) and isinstance(cur, list) and k in MERGE_SETS:
            out[k] = cur + [x for x in v if x not in cur]
        elif isinstance(v, list) and isinstance(cur, list) and list_merge_key(k, cur + v):
            key = list_merge_key(k, cur + v)
            merged = copy.deepcopy(cur)
            for item in v:
                idx = next((n for n, o in enumerate(merged) if isinstance(o, dict) and
                            isinstance(item, dict) and o.get(key) == item.get(key)), None)
                if idx is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[idx] = apply_merge(merged[idx], item)
            out[k] = merged
        else:
            out[k] = copy.deepcopy(v)
    return out
