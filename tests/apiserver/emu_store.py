"""The object store of the emulated kube-apiserver.

Resource types (built-in and CRD-defined), the store with its global resourceVersion, the watch
history and watchers, validation and defaulting as the real API server does them, the write
paths (create, update, patch, server-side apply, delete with garbage collection) and the
in-process controllers (namespace, deployment, replicaset, "kubelet", CRD establishing).

Every stored object is immutable once stored: a write builds a new dict. So an object taken
out of the store under the lock can be serialised after the lock is released.
"""
import base64
import bisect
import calendar
import collections
import copy
import json
import queue
import random
import re
import threading
import time
import uuid

import yaml

import emu_kinds
from emu_patch import (PatchError, apply_merge, flatten, from_fields_v1, json_patch,
                       merge_patch, path_string, remove_path, strategic_merge_patch,
                       to_fields_v1)


# Per-request settings of the handler thread: ?fieldValidation= and the Warning headers to send.
REQ = threading.local()


def unknown_field(path):
    """A field the schema does not know: pruned, and reported per ?fieldValidation=
    (Strict: 400 BadRequest; Warn, the default: a Warning header; Ignore: silently)."""
    if not hasattr(REQ, 'unknown'):
        REQ.unknown = []
    REQ.unknown.append(path)


_YAML_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


def load_yaml(raw):
    """A YAML (or JSON) request body. kubectl sends JSON even as application/apply-patch+yaml:
    it is read as JSON first, which is much faster than a YAML parser for large objects."""
    try:
        return json.loads(raw)
    except ValueError:
        return yaml.load(raw, Loader=_YAML_LOADER)


def now_ts():
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def parse_ts(ts):
    try:
        return calendar.timegm(time.strptime(ts, '%Y-%m-%dT%H:%M:%SZ'))
    except (TypeError, ValueError):
        return time.time()


RAND_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'   # k8s.io/apimachinery/pkg/util/rand


def rand_suffix(n=5):
    return ''.join(random.choice(RAND_ALPHABET) for _ in range(n))


# --- errors ---------------------------------------------------------------------------------

class ApiError(Exception):
    """Answered as a `kind: Status` object with the HTTP code."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details, self.headers = details, headers or {}

    def status(self):
        s = {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure',
             'message': self.message}
        if self.reason:
            s['reason'] = self.reason
        if self.details:
            s['details'] = self.details
        s['code'] = self.code
        return s


def status_error(code, message=None, reason=None):
    """An error of a given HTTP code with the reason the real server would give it."""
    reasons = {400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound',
               405: 'MethodNotAllowed', 406: 'NotAcceptable', 409: 'Conflict', 410: 'Expired',
               415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests',
               500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout'}
    messages = {401: 'Unauthorized',
                410: 'The resourceVersion for the provided list is too old.',
                429: 'Too many requests, please try again later.',
                500: 'Internal error occurred: injected fault',
                503: 'the server is currently unable to handle the request',
                504: 'Timeout: request did not complete within requested timeout'}
    headers = {'Retry-After': '1'} if code == 429 else None
    details = {'causes': [{'reason': 'UnexpectedServerResponse', 'message': 'injected fault'}]} \
        if code >= 500 else None
    return ApiError(code, reason or reasons.get(code, 'Unknown'),
                    message or messages.get(code, 'injected fault (%d)' % code), details, headers)


# etcd3's storage.ErrResourceVersionSetOnCreate, which reaches the client as a bare 500
RV_ON_CREATE = ApiError(500, '', 'resourceVersion should not be set on objects to be created')


def bad_request(msg):
    return ApiError(400, 'BadRequest', msg)


def _details(rt, name):
    d = {'name': name}
    if rt.group:
        d['group'] = rt.group
    d['kind'] = rt.plural
    return d


def not_found(rt, name):
    return ApiError(404, 'NotFound', '%s "%s" not found' % (rt.qualified, name), _details(rt, name))


def already_exists(rt, name):
    return ApiError(409, 'AlreadyExists', '%s "%s" already exists' % (rt.qualified, name),
                    _details(rt, name))


def conflict(rt, name, why):
    return ApiError(409, 'Conflict', 'Operation cannot be fulfilled on %s "%s": %s'
                    % (rt.qualified, name, why), _details(rt, name))


STALE = 'the object has been modified; please apply your changes to the latest version and try again'


def invalid(rt, name, causes):
    """causes: [(field, message-after-field, cause-reason)]. The message lists them as the
    real server does: one cause plainly, several in brackets."""
    msgs = ['%s: %s' % (f, m) for f, m, _ in causes]
    body = msgs[0] if len(msgs) == 1 else '[' + ', '.join(msgs) + ']'
    d = {'name': name}
    if rt.group:
        d['group'] = rt.group
    d['kind'] = rt.kind
    d['causes'] = [{'reason': r, 'message': m, 'field': f} for f, m, r in causes]
    return ApiError(422, 'Invalid', '%s "%s" is invalid: %s' % (rt.qualified_kind, name, body), d)


def req(field):
    return (field, 'Required value', 'FieldValueRequired')


def inval(field, value, why):
    return (field, 'Invalid value: %s: %s' % (json.dumps(value), why), 'FieldValueInvalid')


# --- resource types -------------------------------------------------------------------------

VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']


class RType:
    def __init__(self, group, version, plural, kind, namespaced=True, short=(), cats=(),
                 status=False, scale=False, generation=False, create_on_update=False,
                 singular=None, verbs=None, crd=None, columns=None, schema=None, extra_sub=(),
                 virtual=False, deprecation=None):
        self.group, self.version, self.plural, self.kind = group, version, plural, kind
        self.namespaced, self.short, self.cats = namespaced, list(short), list(cats)
        self.status, self.scale, self.generation = status, scale, generation
        self.create_on_update = create_on_update
        self.singular = singular or kind.lower()
        self.verbs = verbs or VERBS
        self.crd, self.columns, self.schema = crd, columns, schema
        self.extra_sub = list(extra_sub)
        self.virtual = virtual   # create-only reviews: answered, never stored
        self.deprecation = deprecation   # the Warning a request at this version gets, or None
        self.gv = version if not group else group + '/' + version
        self.gk = (group, plural)
        self.qualified = plural if not group else plural + '.' + group
        self.qualified_kind = kind if not group else kind + '.' + group
        self.list_kind = kind + 'List'

    def discovery(self):
        out = [{'name': self.plural, 'singularName': self.singular, 'namespaced': self.namespaced,
                'kind': self.kind, 'verbs': self.verbs}]
        if self.short:
            out[0]['shortNames'] = self.short
        if self.cats:
            out[0]['categories'] = self.cats
        subs = []
        if self.status:
            subs.append((self.plural + '/status', self.kind, ['get', 'patch', 'update'], None))
        if self.scale:
            subs.append((self.plural + '/scale', 'Scale', ['get', 'patch', 'update'],
                         ('autoscaling', 'v1')))
        subs += self.extra_sub
        for name, kind, verbs, gv in subs:
            d = {'name': name, 'singularName': '', 'namespaced': self.namespaced}
            if gv:
                d['group'], d['version'] = gv
            d['kind'], d['verbs'] = kind, verbs
            out.append(d)
        return out


def _builtin_types():
    A, X = ['all'], ['api-extensions']
    T = RType
    return [
        T('', 'v1', 'configmaps', 'ConfigMap', short=['cm']),
        T('', 'v1', 'endpoints', 'Endpoints', short=['ep'], create_on_update=True,
          singular='endpoints'),
        T('', 'v1', 'events', 'Event', short=['ev'], create_on_update=True),
        T('', 'v1', 'limitranges', 'LimitRange', short=['limits']),
        T('', 'v1', 'namespaces', 'Namespace', namespaced=False, short=['ns'], status=True,
          verbs=['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
          extra_sub=[('namespaces/finalize', 'Namespace', ['update'], None)]),
        T('', 'v1', 'nodes', 'Node', namespaced=False, short=['no'], status=True),
        T('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', short=['pvc'], status=True),
        T('', 'v1', 'persistentvolumes', 'PersistentVolume', namespaced=False, short=['pv'],
          status=True),
        T('', 'v1', 'pods', 'Pod', short=['po'], cats=A, status=True,
          extra_sub=[('pods/log', 'Pod', ['get'], None),
                     ('pods/binding', 'Binding', ['create'], None),
                     ('pods/eviction', 'Eviction', ['create'], ('policy', 'v1'))]),
        T('', 'v1', 'podtemplates', 'PodTemplate'),
        T('', 'v1', 'replicationcontrollers', 'ReplicationController', short=['rc'], cats=A,
          status=True, scale=True, generation=True),
        T('', 'v1', 'resourcequotas', 'ResourceQuota', short=['quota'], status=True),
        T('', 'v1', 'secrets', 'Secret'),
        T('', 'v1', 'serviceaccounts', 'ServiceAccount', short=['sa'],
          extra_sub=[('serviceaccounts/token', 'TokenRequest', ['create'],
                      ('authentication.k8s.io', 'v1'))]),
        T('', 'v1', 'services', 'Service', short=['svc'], cats=A, status=True),
        T('admissionregistration.k8s.io', 'v1', 'mutatingwebhookconfigurations',
          'MutatingWebhookConfiguration', namespaced=False, cats=X, generation=True),
        T('admissionregistration.k8s.io', 'v1', 'validatingadmissionpolicies',
          'ValidatingAdmissionPolicy', namespaced=False, cats=X, status=True, generation=True),
        T('admissionregistration.k8s.io', 'v1', 'validatingadmissionpolicybindings',
          'ValidatingAdmissionPolicyBinding', namespaced=False, cats=X, generation=True),
        T('admissionregistration.k8s.io', 'v1', 'validatingwebhookconfigurations',
          'ValidatingWebhookConfiguration', namespaced=False, cats=X, generation=True),
        T('apiregistration.k8s.io', 'v1', 'apiservices', 'APIService', namespaced=False,
          cats=X, status=True),
        T('apps', 'v1', 'controllerrevisions', 'ControllerRevision'),
        T('apps', 'v1', 'daemonsets', 'DaemonSet', short=['ds'], cats=A, status=True,
          generation=True),
        T('apps', 'v1', 'deployments', 'Deployment', short=['deploy'], cats=A, status=True,
          scale=True, generation=True),
        T('apps', 'v1', 'replicasets', 'ReplicaSet', short=['rs'], cats=A, status=True,
          scale=True, generation=True),
        T('apps', 'v1', 'statefulsets', 'StatefulSet', short=['sts'], cats=A, status=True,
          scale=True, generation=True),
        T('autoscaling', 'v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler',
          short=['hpa'], cats=A, status=True),
        T('batch', 'v1', 'cronjobs', 'CronJob', short=['cj'], cats=A, status=True,
          generation=True),
        T('batch', 'v1', 'jobs', 'Job', cats=A, status=True, generation=True),
        T('flowcontrol.apiserver.k8s.io', 'v1', 'flowschemas', 'FlowSchema', namespaced=False,
          status=True, generation=True),
        T('flowcontrol.apiserver.k8s.io', 'v1', 'prioritylevelconfigurations',
          'PriorityLevelConfiguration', namespaced=False, status=True, generation=True),
        T('networking.k8s.io', 'v1', 'ingressclasses', 'IngressClass', namespaced=False),
        T('networking.k8s.io', 'v1', 'ingresses', 'Ingress', short=['ing'], status=True,
          generation=True),
        T('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy', short=['netpol'],
          generation=True),
        T('node.k8s.io', 'v1', 'runtimeclasses', 'RuntimeClass', namespaced=False),
        T('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', short=['pdb'],
          status=True, generation=True),
        T('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding',
          namespaced=False, create_on_update=True),
        T('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', namespaced=False,
          create_on_update=True),
        T('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding',
          create_on_update=True),
        T('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', create_on_update=True),
        T('scheduling.k8s.io', 'v1', 'priorityclasses', 'PriorityClass', namespaced=False,
          short=['pc']),
        T('storage.k8s.io', 'v1', 'csidrivers', 'CSIDriver', namespaced=False),
        T('storage.k8s.io', 'v1', 'csinodes', 'CSINode', namespaced=False),
        T('storage.k8s.io', 'v1', 'csistoragecapacities', 'CSIStorageCapacity'),
        T('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', namespaced=False,
          short=['sc']),
        T('storage.k8s.io', 'v1', 'volumeattachments', 'VolumeAttachment', namespaced=False,
          status=True),
        T('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition',
          namespaced=False, short=['crd', 'crds'], cats=['api-extensions'], status=True,
          generation=True),
        T('coordination.k8s.io', 'v1', 'leases', 'Lease', create_on_update=True),
        T('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice'),
        T('events.k8s.io', 'v1', 'events', 'Event', short=['ev'], create_on_update=True),
        T('authentication.k8s.io', 'v1', 'selfsubjectreviews', 'SelfSubjectReview',
          namespaced=False, verbs=['create'], virtual=True),
        T('authentication.k8s.io', 'v1', 'tokenreviews', 'TokenReview', namespaced=False,
          verbs=['create'], virtual=True),
        T('authorization.k8s.io', 'v1', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview',
          namespaced=False, verbs=['create'], virtual=True),
        T('authorization.k8s.io', 'v1', 'subjectaccessreviews', 'SubjectAccessReview',
          namespaced=False, verbs=['create'], virtual=True),
    ]


# --- selectors ------------------------------------------------------------------------------

def _split_top(s):
    out, depth, cur = [], 0, ''
    for ch in s:
        if ch == '(':
            depth += 1
        elif ch == ')':
            depth -= 1
        if ch == ',' and depth == 0:
            out.append(cur)
            cur = ''
        else:
            cur += ch
    out.append(cur)
    return [p.strip() for p in out if p.strip()]


_LKEY = r'[A-Za-z0-9_./-]+'


def parse_label_selector(s):
    """The string form of a label selector -> predicate on a labels dict."""
    reqs = []
    for part in _split_top(s or ''):
        m = re.fullmatch(r'(%s)\s+(in|notin)\s+\((.*)\)' % _LKEY, part)
        if m:
            vals = {v.strip() for v in m.group(3).split(',') if v.strip()}
            reqs.append((m.group(1), m.group(2), vals))
            continue
        m = re.fullmatch(r'(%s)\s*(==|=|!=|>|<)\s*([A-Za-z0-9_.-]*)' % _LKEY, part)
        if m:
            reqs.append((m.group(1), m.group(2), m.group(3)))
            continue
        m = re.fullmatch(r'(!?)\s*(%s)' % _LKEY, part)
        if m:
            reqs.append((m.group(2), '!' if m.group(1) else 'exists', None))
            continue
        raise bad_request('unable to parse requirement: found \'%s\', expected: identifier' % part)

    def match(labels):
        labels = labels or {}
        for k, op, v in reqs:
            has, val = k in labels, labels.get(k)
            if op in ('=', '==') and val != v:
                return False
            if op == '!=' and has and val == v:
                return False
            if op == 'in' and val not in v:
                return False
            if op == 'notin' and has and val in v:
                return False
            if op == 'exists' and not has:
                return False
            if op == '!' and has:
                return False
            if op in ('>', '<'):
                try:
                    if not has or not ((int(val) > int(v)) if op == '>' else (int(val) < int(v))):
                        return False
                except ValueError:
                    return False
        return True
    return match


def selector_object_matches(sel, labels):
    """A LabelSelector object (matchLabels / matchExpressions) against labels."""
    labels = labels or {}
    if not sel:
        return False
    for k, v in (sel.get('matchLabels') or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get('matchExpressions') or []:
        k, op, vals = e.get('key'), e.get('operator'), e.get('values') or []
        if op == 'In' and labels.get(k) not in vals:
            return False
        if op == 'NotIn' and k in labels and labels[k] in vals:
            return False
        if op == 'Exists' and k not in labels:
            return False
        if op == 'DoesNotExist' and k in labels:
            return False
    return True


# The fields each kind can be selected by (the real server refuses others).
FIELD_LABELS = {
    'Pod': ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName',
            'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
    'Secret': ['type'], 'Namespace': ['status.phase'], 'Node': ['spec.unschedulable'],
    'Event': ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name',
              'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion',
              'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
    'ReplicaSet': ['status.replicas'], 'Job': ['status.successful'],
}


def _dig(obj, dotted):
    cur = obj
    for p in dotted.split('.'):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def parse_field_selector(s, kind):
    reqs = []
    allowed = ['metadata.name', 'metadata.namespace'] + FIELD_LABELS.get(kind, [])
    for part in _split_top(s or ''):
        m = re.fullmatch(r'([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)', part)
        if not m:
            raise bad_request('invalid selector: \'%s\'; can\'t understand \'%s\'' % (s, part))
        if m.group(1) not in allowed:
            raise bad_request('field label not supported: %s' % m.group(1))
        reqs.append((m.group(1), m.group(2), m.group(3)))

    def match(obj):
        for f, op, v in reqs:
            val = _dig(obj, f)
            val = '' if val is None else (str(val).lower() if isinstance(val, bool) else str(val))
            if (op == '!=') == (val == v):
                return False
        return True
    return match, reqs


# --- validation -----------------------------------------------------------------------------

DNS1123_SUB = r'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'
DNS1123_LABEL = r'[a-z0-9]([-a-z0-9]*[a-z0-9])?'
DNS1035_LABEL = r'[a-z]([-a-z0-9]*[a-z0-9])?'
MSG_SUB = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
           "'-' or '.', and must start and end with an alphanumeric character (e.g. "
           "'example.com', regex used for validation is '%s')" % DNS1123_SUB)
MSG_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
             "'123-abc', regex used for validation is '%s')" % DNS1123_LABEL)
MSG_1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
            "with an alphabetic character, and end with an alphanumeric character (e.g. "
            "'my-name',  or 'abc-123', regex used for validation is '%s')" % DNS1035_LABEL)
LABEL_VALUE = r'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'
LABEL_NAME = r'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'
CONFIG_KEY = r'[-._a-zA-Z0-9]+'
ANNOTATIONS_MAX = 256 * 1024


def validate_name(rt, name):
    if not name:
        return [('metadata.name', 'Required value: name or generateName is required',
                 'FieldValueRequired')]
    if rt.group == 'rbac.authorization.k8s.io':       # path segment names: "system:foo" is fine
        bad = name in ('.', '..') or '/' in name or '%' in name
        return [inval('metadata.name', name, 'may not contain \'/\'')] if bad else []
    if rt.plural == 'namespaces':
        ok, msg, mx = re.fullmatch(DNS1123_LABEL, name), MSG_LABEL, 63
    elif rt.plural == 'services':
        ok, msg, mx = re.fullmatch(DNS1035_LABEL, name), MSG_1035, 63
    else:
        ok, msg, mx = re.fullmatch(DNS1123_SUB, name), MSG_SUB, 253
    if len(name) > mx:
        return [inval('metadata.name', name, 'must be no more than %d characters' % mx)]
    return [] if ok else [inval('metadata.name', name, msg)]


def validate_meta(meta):
    causes = []
    for k, v in (meta.get('labels') or {}).items():
        name = k.split('/', 1)[-1]
        prefix = k.split('/', 1)[0] if '/' in k else None
        if not re.fullmatch(LABEL_NAME, name) or len(name) > 63 or \
                (prefix is not None and not re.fullmatch(DNS1123_SUB, prefix)):
            causes.append(inval('metadata.labels', k, "name part must consist of alphanumeric "
                                "characters, '-', '_' or '.', and must start and end with an "
                                "alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                                "'123-abc', regex used for validation is "
                                "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"))
        if not isinstance(v, str) or not re.fullmatch(LABEL_VALUE, v) or len(v) > 63:
            causes.append(inval('metadata.labels', v, "a valid label must be an empty string or "
                                "consist of alphanumeric characters, '-', '_' or '.', and must "
                                "start and end with an alphanumeric character (e.g. 'MyValue',  "
                                "or 'my_value',  or '12345', regex used for validation is '%s')"
                                % LABEL_VALUE))
    # ValidateAnnotationsSize: what stops a client-side apply of a large CRD (its
    # last-applied-configuration annotation would hold the whole object)
    ann = meta.get('annotations') or {}
    if sum(len(str(k)) + len(str(v)) for k, v in ann.items()) > ANNOTATIONS_MAX:
        causes.append(('metadata.annotations', 'Too long: may not be more than %d bytes'
                       % ANNOTATIONS_MAX, 'FieldValueTooLong'))
    return causes


def _decode_error(kind, field, gofield, want, got):
    """Type errors are found by the real server while decoding JSON into Go structs, before
    validation, so they are 400 BadRequest, not 422 Invalid."""
    jt = {str: 'string', int: 'number', float: 'number', bool: 'bool', list: 'array',
          dict: 'object'}.get(type(got), 'value')
    return bad_request('%s in version "v1" cannot be handled as a %s: json: cannot unmarshal %s '
                       'into Go struct field %s of type %s' % (kind, kind, jt, gofield, want))


def check_types(rt, obj):
    k = rt.kind
    if rt.crd:
        return
    if k in ('ConfigMap',):
        for f in ('data', 'binaryData'):
            v = obj.get(f)
            if v is not None and not isinstance(v, dict):
                raise _decode_error(k, f, 'ConfigMap.%s' % f, 'map[string]string', v)
            for key, val in (v or {}).items():
                if not isinstance(val, str):
                    raise _decode_error(k, f, 'ConfigMap.%s' % f,
                                        'string' if f == 'data' else '[]uint8', val)
    if k == 'Secret':
        for f in ('data', 'stringData'):
            for key, val in (obj.get(f) or {}).items():
                if not isinstance(val, str):
                    raise _decode_error(k, f, 'Secret.%s' % f,
                                        '[]uint8' if f == 'data' else 'string', val)
        for key, val in (obj.get('data') or {}).items():
            try:
                base64.b64decode(val, validate=True)
            except ValueError:
                raise bad_request('Secret in version "v1" cannot be handled as a Secret: illegal '
                                  'base64 data at input byte 0')
    spec = obj.get('spec')
    if spec is not None and not isinstance(spec, dict):
        raise _decode_error(k, 'spec', '%s.spec' % k, '%sSpec' % k, spec)
    if isinstance(spec, dict) and 'replicas' in spec and spec['replicas'] is not None and \
            (not isinstance(spec['replicas'], int) or isinstance(spec['replicas'], bool)):
        raise _decode_error(k, 'spec.replicas', '%sSpec.spec.replicas' % k, 'int32',
                            spec['replicas'])


def _validate_pod_spec(spec, path):
    causes = []
    if not isinstance(spec, dict):
        return [req(path)]
    cs = spec.get('containers')
    if not cs:
        causes.append(req(path + '.containers'))
    names = set()
    for i, c in enumerate(cs or []):
        p = '%s.containers[%d]' % (path, i)
        if not c.get('name'):
            causes.append(req(p + '.name'))
        elif not re.fullmatch(DNS1123_LABEL, c['name']):
            causes.append(inval(p + '.name', c['name'], MSG_LABEL))
        elif c['name'] in names:
            causes.append((p + '.name', 'Duplicate value: %s' % json.dumps(c['name']),
                           'FieldValueDuplicate'))
        names.add(c.get('name'))
        if not c.get('image'):
            causes.append(req(p + '.image'))
        for j, port in enumerate(c.get('ports') or []):
            cp = port.get('containerPort')
            if not isinstance(cp, int) or not 0 < cp < 65536:
                causes.append(inval('%s.ports[%d].containerPort' % (p, j), cp,
                                    'must be between 1 and 65535, inclusive'))
    return causes


def validate(rt, obj, old, store):
    """Per-kind validation -> list of causes (422 Invalid)."""
    k, spec, causes = rt.kind, obj.get('spec') or {}, []
    if rt.crd:
        props = rt.schema.get('properties') or {}
        for key in list(obj):
            if key not in ('apiVersion', 'kind', 'metadata') and key in props:
                schema_walk(obj[key], props[key], key, causes)
        return causes
    if k == 'ConfigMap':
        for f in ('data', 'binaryData'):
            for key in (obj.get(f) or {}):
                if not re.fullmatch(CONFIG_KEY, key):
                    causes.append(inval('%s[%s]' % (f, key), key, "a valid config key must "
                                        "consist of alphanumeric characters, '-', '_' or '.' "
                                        "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex "
                                        "used for validation is '%s')" % CONFIG_KEY))
        if old and old.get('immutable') and (obj.get('data') != old.get('data') or
                                             obj.get('binaryData') != old.get('binaryData')):
            causes.append(('data', 'Forbidden: field is immutable when `immutable` is set',
                           'FieldValueForbidden'))
    elif k in ('Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'):
        sel = spec.get('selector')
        if not sel:
            causes.append(req('spec.selector'))
        tmpl = spec.get('template') or {}
        labels = (tmpl.get('metadata') or {}).get('labels') or {}
        if sel and not selector_object_matches(sel, labels):
            causes.append(inval('spec.template.metadata.labels', labels,
                                '`selector` does not match template `labels`'))
        if (spec.get('replicas') or 0) < 0:
            causes.append(inval('spec.replicas', spec['replicas'],
                                'must be greater than or equal to 0'))
        causes += _validate_pod_spec(tmpl.get('spec'), 'spec.template.spec')
        if old and sel and (old.get('spec') or {}).get('selector') != sel:
            causes.append(inval('spec.selector', sel, 'field is immutable'))
    elif k == 'Pod':
        causes += _validate_pod_spec(spec, 'spec')
    elif k == 'Service':
        t = spec.get('type', 'ClusterIP')
        ports = spec.get('ports') or []
        if not ports and t != 'ExternalName' and spec.get('clusterIP') != 'None':
            causes.append(req('spec.ports'))
        for i, p in enumerate(ports):
            if not isinstance(p.get('port'), int) or not 0 < p['port'] < 65536:
                causes.append(inval('spec.ports[%d].port' % i, p.get('port'),
                                    'must be between 1 and 65535, inclusive'))
            if len(ports) > 1 and not p.get('name'):
                causes.append(req('spec.ports[%d].name' % i))
        if old:
            oip = (old.get('spec') or {}).get('clusterIP')
            if oip and spec.get('clusterIP') and spec['clusterIP'] != oip:
                causes.append(inval('spec.clusterIP', spec['clusterIP'], 'field is immutable'))
    elif k == 'CustomResourceDefinition':
        causes += validate_crd(obj)
    else:
        causes += emu_kinds.validate(rt, obj, old)
        if k == 'ReplicationController' and isinstance(spec.get('template'), dict):
            causes += _validate_pod_spec(spec['template'].get('spec'), 'spec.template.spec')
    return causes


def validate_crd(obj):
    causes, spec = [], obj.get('spec') or {}
    names = spec.get('names') or {}
    group = spec.get('group')
    if not group:
        causes.append(req('spec.group'))
    elif '.' not in group:
        causes.append(inval('spec.group', group, 'should be a domain with at least one dot'))
    if not names.get('plural'):
        causes.append(req('spec.names.plural'))
    if not names.get('kind'):
        causes.append(req('spec.names.kind'))
    if spec.get('scope') not in ('Namespaced', 'Cluster'):
        causes.append(('spec.scope', 'Unsupported value: %s: supported values: "Cluster", '
                       '"Namespaced"' % json.dumps(spec.get('scope')), 'FieldValueNotSupported'))
    vs = spec.get('versions') or []
    if not vs:
        causes.append(req('spec.versions'))
    elif sum(1 for v in vs if v.get('storage')) != 1:
        causes.append(inval('spec.versions', [v.get('name') for v in vs],
                            'must have exactly one version marked as storage version'))
    for i, v in enumerate(vs):
        if not ((v.get('schema') or {}).get('openAPIV3Schema')):
            causes.append(('spec.versions[%d].schema.openAPIV3Schema' % i,
                           'Required value: schemas are required', 'FieldValueRequired'))
    want = '%s.%s' % (names.get('plural'), group)
    if group and names.get('plural') and obj['metadata'].get('name') != want:
        causes.append(inval('metadata.name', obj['metadata'].get('name'),
                            'must be spec.names.plural+"."+spec.group'))
    return causes


_JTYPES = {'object': dict, 'array': list, 'string': str, 'boolean': bool,
           'integer': int, 'number': (int, float)}


def schema_walk(val, schema, path, errs, prune=True):
    """A custom resource against its structural schema: type checks, enum, required, defaults
    and pruning of unknown fields (the real server drops fields the schema does not know,
    unless x-kubernetes-preserve-unknown-fields)."""
    if not isinstance(schema, dict) or val is None:
        return
    t = schema.get('type')
    if schema.get('x-kubernetes-int-or-string'):
        if not isinstance(val, (int, str)) or isinstance(val, bool):
            errs.append(inval(path, val, '%s in body must be of type int-or-string' % path))
        return
    if t in _JTYPES and (not isinstance(val, _JTYPES[t]) or
                         (t in ('integer', 'number') and isinstance(val, bool))):
        jt = {dict: 'object', list: 'array', str: 'string', bool: 'boolean', int: 'integer',
              float: 'number'}.get(type(val), 'null')
        errs.append((path, 'Invalid value: "%s": %s in body must be of type %s: "%s"'
                     % (jt, path, t, jt), 'FieldValueTypeInvalid'))
        return
    if 'enum' in schema and val not in schema['enum']:
        errs.append((path, 'Unsupported value: %s: supported values: %s' % (
            json.dumps(val), ', '.join(json.dumps(e) for e in schema['enum'])),
            'FieldValueNotSupported'))
    if isinstance(val, dict):
        props = schema.get('properties')
        addl = schema.get('additionalProperties')
        for k, ps in (props or {}).items():
            if k not in val and isinstance(ps, dict) and 'default' in ps:
                val[k] = copy.deepcopy(ps['default'])
        for k in list(val):
            if props and k in props:
                schema_walk(val[k], props[k], path + '.' + k, errs)
            elif isinstance(addl, dict):
                schema_walk(val[k], addl, path + '.' + k, errs)
            elif prune and not schema.get('x-kubernetes-preserve-unknown-fields') and addl is not True:
                del val[k]
                unknown_field(path + '.' + k)
        for k in schema.get('required') or []:
            if k not in val:
                errs.append(req(path + '.' + k))
    elif isinstance(val, list) and isinstance(schema.get('items'), dict):
        for i, item in enumerate(val):
            schema_walk(item, schema['items'], '%s[%d]' % (path, i), errs)


# --- defaulting -----------------------------------------------------------------------------

def _pull_policy(image):
    if '@' in image:
        return 'IfNotPresent'
    last = image.rsplit('/', 1)[-1]
    tag = last.split(':', 1)[1] if ':' in last else 'latest'
    return 'Always' if tag == 'latest' else 'IfNotPresent'


def default_pod_spec(spec):
    spec.setdefault('restartPolicy', 'Always')
    spec.setdefault('terminationGracePeriodSeconds', 30)
    spec.setdefault('dnsPolicy', 'ClusterFirst')
    spec.setdefault('securityContext', {})
    spec.setdefault('schedulerName', 'default-scheduler')
    for c in (spec.get('containers') or []) + (spec.get('initContainers') or []):
        if not isinstance(c, dict):
            continue
        c.setdefault('terminationMessagePath', '/dev/termination-log')
        c.setdefault('terminationMessagePolicy', 'File')
        if c.get('image'):
            c.setdefault('imagePullPolicy', _pull_policy(c['image']))
        c.setdefault('resources', {})
        for p in c.get('ports') or []:
            p.setdefault('protocol', 'TCP')
        for e in c.get('env') or []:
            fr = (e.get('valueFrom') or {}).get('fieldRef')
            if fr:
                fr.setdefault('apiVersion', 'v1')
    for v in spec.get('volumes') or []:
        for src in ('configMap', 'secret'):
            if isinstance(v.get(src), dict):
                v[src].setdefault('defaultMode', 420)


META_ORDER = ['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion',
              'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds',
              'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields']


def order_meta(meta):
    """ObjectMeta in the order of the Go struct, as the real server serialises it."""
    return {k: meta[k] for k in sorted(meta, key=lambda k: (
        META_ORDER.index(k) if k in META_ORDER else 99, k))}


def default_template(tmpl):
    if not isinstance(tmpl, dict):
        return
    # The real server serialises the template's ObjectMeta with "creationTimestamp": null.
    tmpl.setdefault('metadata', {}).setdefault('creationTimestamp', None)
    tmpl['metadata'] = order_meta(tmpl['metadata'])
    if isinstance(tmpl.get('spec'), dict):
        default_pod_spec(tmpl['spec'])


def _allocate_ip(store):
    used = {((o.get('spec') or {}).get('clusterIP')) for o in store.all_of(('', 'services'))}
    while True:   # 10.96.0.0/12; .0.1 is the kubernetes Service, .0.10 conventionally DNS
        ip = '10.%d.%d.%d' % (random.randint(96, 111), random.randint(0, 255),
                               random.randint(1, 254))
        if ip not in used:
            return ip


def apply_defaults(rt, obj, old, store):
    k = rt.kind
    meta = obj['metadata']
    spec = obj.get('spec')
    if rt.crd:
        # custom resource: unknown top-level fields pruned, top-level defaults; the rest of
        # the schema (types, nested defaults and pruning) is applied in validate()
        root = rt.schema
        props = root.get('properties') or {}
        for key in list(obj):
            if key not in ('apiVersion', 'kind', 'metadata') and key not in props and \
                    not root.get('x-kubernetes-preserve-unknown-fields'):
                del obj[key]
                unknown_field(key)
        for key, ps in props.items():
            if key not in obj and isinstance(ps, dict) and 'default' in ps and \
                    key not in ('apiVersion', 'kind', 'metadata'):
                obj[key] = copy.deepcopy(ps['default'])
        return
    if k == 'Namespace':
        # NamespaceDefaultLabelName: every namespace carries its own name as a label.
        meta.setdefault('labels', {})['kubernetes.io/metadata.name'] = meta['name']
        obj.setdefault('spec', {}).setdefault('finalizers', ['kubernetes'])
        st = obj.setdefault('status', {})
        st.setdefault('phase', 'Active')
    elif k == 'Secret':
        obj.setdefault('type', 'Opaque')
        sd = obj.pop('stringData', None)
        if sd:   # stringData is write-only: folded into data (base64) and never stored
            data = obj.setdefault('data', {})
            for kk, vv in sd.items():
                data[kk] = base64.b64encode(str(vv).encode()).decode()
    elif k in ('Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet') and isinstance(spec, dict):
        if k != 'DaemonSet':
            spec.setdefault('replicas', 1)
        spec.setdefault('revisionHistoryLimit', 10)
        if k == 'Deployment':
            spec.setdefault('progressDeadlineSeconds', 600)
            st = spec.setdefault('strategy', {})
            st.setdefault('type', 'RollingUpdate')
            if st['type'] == 'RollingUpdate':
                ru = st.setdefault('rollingUpdate', {})
                ru.setdefault('maxUnavailable', '25%')
                ru.setdefault('maxSurge', '25%')
        if k == 'StatefulSet':
            spec.setdefault('podManagementPolicy', 'OrderedReady')
            us = spec.setdefault('updateStrategy', {'type': 'RollingUpdate'})
            if us.get('type') == 'RollingUpdate':
                us.setdefault('rollingUpdate', {'partition': 0})
            spec.setdefault('persistentVolumeClaimRetentionPolicy',
                            {'whenDeleted': 'Retain', 'whenScaled': 'Retain'})
            emu_kinds.volume_claim_templates(spec, order_meta)
        if k == 'DaemonSet':
            us = spec.setdefault('updateStrategy', {'type': 'RollingUpdate'})
            if us.get('type') == 'RollingUpdate':
                us.setdefault('rollingUpdate', {'maxUnavailable': 1, 'maxSurge': 0})
        if k == 'ReplicaSet':
            spec.pop('revisionHistoryLimit', None)
        default_template(spec.get('template'))
    elif k == 'Job' and isinstance(spec, dict):
        spec.setdefault('backoffLimit', 6)
        spec.setdefault('completions', 1)
        spec.setdefault('parallelism', 1)
        spec.setdefault('completionMode', 'NonIndexed')
        spec.setdefault('suspend', False)
        spec.setdefault('podReplacementPolicy',
                        'Failed' if spec.get('podFailurePolicy') else 'TerminatingOrFailed')
        if not old and not spec.get('manualSelector'):
            _job_selector(obj)
        default_template(spec.get('template'))
    elif k == 'CronJob' and isinstance(spec, dict):
        spec.setdefault('concurrencyPolicy', 'Allow')
        spec.setdefault('suspend', False)
        spec.setdefault('successfulJobsHistoryLimit', 3)
        spec.setdefault('failedJobsHistoryLimit', 1)
        default_template(((spec.get('jobTemplate') or {}).get('spec') or {}).get('template'))
    elif k == 'Pod' and isinstance(spec, dict):
        default_pod_spec(spec)
        spec.setdefault('serviceAccountName', 'default')
        spec['serviceAccount'] = spec['serviceAccountName']   # deprecated mirror field
        spec.setdefault('enableServiceLinks', True)
        # the Priority admission plugin: the class named gives priority and preemption policy
        pc = store.get_obj(('scheduling.k8s.io', 'priorityclasses'), '',
                           spec.get('priorityClassName') or '') if not old else None
        if pc is not None:
            spec['priority'] = pc.get('value', 0)
            spec['preemptionPolicy'] = pc.get('preemptionPolicy', 'PreemptLowerPriority')
        spec.setdefault('preemptionPolicy', 'PreemptLowerPriority')
        spec.setdefault('priority', 0)
        # the scheduler is emulated as instantaneous: every pod lands on the one node
        spec.setdefault('nodeName', store.node_name)
        if not old:
            tol = spec.setdefault('tolerations', [])
            for key in ('node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'):
                if not any(t.get('key') == key for t in tol):
                    tol.append({'effect': 'NoExecute', 'key': key, 'operator': 'Exists',
                                'tolerationSeconds': 300})
        if not old:
            obj['status'] = {'phase': 'Pending', 'qosClass': 'BestEffort'}
    elif k == 'Service' and isinstance(spec, dict):
        t = spec.setdefault('type', 'ClusterIP')
        spec.setdefault('sessionAffinity', 'None')
        if t != 'ExternalName':
            ospec = (old or {}).get('spec') or {}
            # an update that leaves out clusterIP keeps the allocated one (patchAllocatedValues)
            if not spec.get('clusterIP') and ospec.get('clusterIP'):
                spec['clusterIP'] = ospec['clusterIP']
                spec['clusterIPs'] = ospec.get('clusterIPs') or [ospec['clusterIP']]
            if not spec.get('clusterIP'):
                spec['clusterIP'] = _allocate_ip(store)
            spec.setdefault('clusterIPs', [spec['clusterIP']])
            spec.setdefault('ipFamilies', ['IPv4'])
            spec.setdefault('ipFamilyPolicy', 'SingleStack')
            spec.setdefault('internalTrafficPolicy', 'Cluster')
            oports = {p.get('port'): p for p in ospec.get('ports') or []}
            for p in spec.get('ports') or []:
                p.setdefault('protocol', 'TCP')
                p.setdefault('targetPort', p.get('port'))
                if t in ('NodePort', 'LoadBalancer') and not p.get('nodePort'):
                    p['nodePort'] = oports.get(p.get('port'), {}).get('nodePort') or \
                        random.randint(30000, 32767)
            if t in ('NodePort', 'LoadBalancer'):
                spec.setdefault('externalTrafficPolicy', 'Cluster')
            if t == 'LoadBalancer':
                spec.setdefault('allocateLoadBalancerNodePorts', True)
        obj.setdefault('status', {}).setdefault('loadBalancer', {})
    elif k == 'ReplicationController' and rt.group == '':
        emu_kinds.apply_defaults(rt, obj, old)
        if isinstance(spec, dict):
            default_template(spec.get('template'))
    elif k == 'CustomResourceDefinition' and isinstance(spec, dict):
        names = spec.setdefault('names', {})
        if names.get('kind'):
            names.setdefault('singular', names['kind'].lower())
            names.setdefault('listKind', names['kind'] + 'List')
        spec.setdefault('conversion', {'strategy': 'None'})
        for v in spec.get('versions') or []:
            v.setdefault('served', True)
    else:
        emu_kinds.apply_defaults(rt, obj, old)


def _job_selector(job):
    """The Job strategy's generateSelector: a Job is selected by its own uid (assigned before
    defaulting), and its pod template carries the uid and the Job's name."""
    uid, name = job['metadata'].get('uid'), job['metadata'].get('name')
    if not uid:
        return
    spec = job['spec']
    spec.setdefault('selector', {}).setdefault('matchLabels', {})[
        'batch.kubernetes.io/controller-uid'] = uid
    tmpl = spec.setdefault('template', {})
    labels = tmpl.setdefault('metadata', {}).setdefault('labels', {})
    labels.update({'batch.kubernetes.io/controller-uid': uid,
                   'batch.kubernetes.io/job-name': name, 'controller-uid': uid,
                   'job-name': name})


# --- watchers -------------------------------------------------------------------------------

class Watcher:
    CLOSE = object()

    def __init__(self, gk, ns, label_match, field_match):
        self.gk, self.ns = gk, ns
        self.label_match, self.field_match = label_match, field_match
        self.q = queue.Queue()
        self.closed = False

    def matches(self, obj):
        m = obj.get('metadata') or {}
        if self.ns is not None and m.get('namespace') != self.ns:
            return False
        return self.label_match(m.get('labels')) and self.field_match(obj)

    def offer(self, rv, etype, gk, obj, old):
        """Like the watch cache: an object that starts matching the selectors arrives as
        ADDED, one that stops matching as DELETED (its previous state, with the new RV)."""
        if gk != self.gk:
            return
        now_ok = self.matches(obj)
        if etype == 'MODIFIED':
            was_ok = self.matches(old) if old is not None else now_ok
            if now_ok and not was_ok:
                etype = 'ADDED'
            elif was_ok and not now_ok:
                prev = copy.deepcopy(old)
                prev['metadata']['resourceVersion'] = str(rv)
                self.q.put(('DELETED', prev))
                return
        if now_ok:
            self.q.put((etype, obj))

    def close(self):
        self.closed = True
        self.q.put(self.CLOSE)


# --- the store ------------------------------------------------------------------------------

class Store:
    def __init__(self, history=1000, ca_pem=None, node_name='emu-node'):
        self.lock = threading.RLock()
        self.types = {}                       # (group, version, plural) -> RType
        self.objects = collections.defaultdict(dict)   # (group, plural) -> {(ns, name): obj}
        # (group, plural) -> [(etcd-order key, (ns, name))], sorted: a list page is a range
        # of it, as etcd reads one (O(limit), not a sort of every key per page). Dropped
        # when a key comes or goes; made again by the next list.
        self.sorted_keys = {}
        self.rv = 0
        self.history = collections.deque()    # (rv, type, gk, obj, old)
        self.history_max = max(1, history)
        self.compacted = 0                    # events with rv <= this are forgotten
        self.watchers = set()
        self.ca_pem = ca_pem or '-----BEGIN CERTIFICATE-----\nZW11bGF0b3I=\n-----END CERTIFICATE-----\n'
        self.node_name = node_name
        self.pod_ip = 10
        # The kubelet model (POST /_emu/kubelet): images that cannot be
        # pulled, images whose containers crash; and when each Deployment's
        # current rollout began (uid -> (ReplicaSet name, time.time())), for
        # progressDeadlineSeconds.
        self.pull_fail, self.crash = set(), set()
        self.kubelet_on = False   # Jobs run only once the kubelet model is asked for
        self.progress_start = {}
        self.discovery_gen = 0                # bumped whenever discovery changes (CRDs)
        self.audit = None                     # a file: one JSON line per stored change
        for rt in _builtin_types():
            self.types[(rt.group, rt.version, rt.plural)] = rt

    # -- lookups --
    def rtype(self, group, version, plural):
        return self.types.get((group, version, plural))

    def by_kind(self, api_version, kind):
        group, _, version = api_version.rpartition('/')
        for rt in self.types.values():
            if rt.group == group and rt.version == version and rt.kind == kind:
                return rt
        return None

    def groups(self):
        """{group: [versions]} in a stable order, core first."""
        out = collections.OrderedDict()
        for rt in self.types.values():
            vs = out.setdefault(rt.group, [])
            if rt.version not in vs:
                vs.append(rt.version)
        return out

    def all_of(self, gk):
        return list(self.objects.get(gk, {}).values())

    def get_obj(self, gk, ns, name):
        return self.objects.get(gk, {}).get((ns or '', name))

    def ns_exists(self, ns):
        return ('', ns) in self.objects.get(('', 'namespaces'), {})

    # -- events --
    def _emit(self, etype, rt, obj, old=None):
        rv = int(obj['metadata']['resourceVersion'])
        self.history.append((rv, etype, rt.gk, obj, old))
        if self.audit:
            # Every stored change, never compacted: what a soak checks its writes against.
            meta = obj['metadata']
            self.audit.write(json.dumps({
                'rv': rv, 'type': etype, 'group': rt.gk[0], 'resource': rt.gk[1],
                'namespace': meta.get('namespace', ''), 'name': meta.get('name'),
                'uid': meta.get('uid'), 'data': obj.get('data')}) + '\n')
            self.audit.flush()
        while len(self.history) > self.history_max:
            self.compacted = self.history.popleft()[0]
        for w in list(self.watchers):
            w.offer(rv, etype, rt.gk, obj, old)

    def compact(self):
        with self.lock:
            self.history.clear()
            self.compacted = self.rv
            self.close_watches()

    def close_watches(self, gk=None):
        with self.lock:
            for w in list(self.watchers):
                if gk is None or w.gk == gk:
                    w.close()

    def start_watch(self, rt, ns, label_sel, field_sel, rv, send_initial=None):
        """Registers a watcher and queues what it must see first. Returns (watcher, error)
        where error is a 410 Status for a resourceVersion older than the history."""
        lm = parse_label_selector(label_sel)
        fm, _ = parse_field_selector(field_sel, rt.kind)
        w = Watcher(rt.gk, ns, lm, fm)
        with self.lock:
            initial = send_initial if send_initial is not None else rv in (None, '', '0')
            if initial:
                for key in sorted(self.objects.get(rt.gk, {})):
                    o = self.objects[rt.gk][key]
                    if w.matches(o):
                        w.q.put(('ADDED', o))
                if send_initial:
                    w.q.put(('BOOKMARK-INITIAL', str(self.rv)))
            else:
                try:
                    since = int(rv)
                except ValueError:
                    raise bad_request('invalid resource version: %s' % rv)
                if since < self.compacted:
                    return None, ApiError(410, 'Expired', 'too old resource version: %d (%d)'
                                          % (since, self.compacted + 1))
                for erv, etype, gk, obj, old in self.history:
                    if erv > since:
                        w.offer(erv, etype, gk, obj, old)
            self.watchers.add(w)
        return w, None

    def stop_watch(self, w):
        with self.lock:
            self.watchers.discard(w)

    # -- reads --
    def get(self, rt, ns, name):
        with self.lock:
            o = self.get_obj(rt.gk, ns, name)
            if o is None:
                raise not_found(rt, name)
            return o

    def list(self, rt, ns, label_sel=None, field_sel=None, limit=None, cont=None):
        lm = parse_label_selector(label_sel)
        fm, freqs = parse_field_selector(field_sel, rt.kind)
        start, list_rv = None, None
        if cont:
            try:
                tok = json.loads(base64.urlsafe_b64decode(cont + '=' * (-len(cont) % 4)))
                start, list_rv = tok['start'], int(tok['rv'])
            except (ValueError, KeyError, TypeError):
                raise bad_request('continue key is not valid: incorrect encoded start '
                                  'resourceVersion (version meta.k8s.io/v1)')
        with self.lock:
            if list_rv is not None and list_rv < self.compacted:
                # What etcd answers once the revision of the first page has been compacted.
                raise ApiError(410, 'Expired', 'The provided continue parameter is too old to '
                               'display a consistent list result. You can start a new list '
                               'without the continue parameter, or use the continue token in '
                               'this response to retrieve the remainder of the results. '
                               'Continuing with the provided token results in an inconsistent '
                               'list - objects that were created, modified, or deleted between '
                               'the time the first chunk was returned and now may show up in '
                               'the list.')
            rv = list_rv if list_rv is not None else self.rv
            # etcd keys are /registry/<resource>/<namespace>/<name>: lists come sorted by them
            keys = self.sorted_keys.get(rt.gk)
            if keys is None:
                keys = sorted(((k[0] + '/' + k[1]) if rt.namespaced else k[1], k)
                              for k in self.objects.get(rt.gk, {}))
                self.sorted_keys[rt.gk] = keys
            lo, hi = 0, len(keys)
            if ns is not None and rt.namespaced:   # one namespace: one range of keys
                lo, hi = bisect.bisect_left(keys, (ns + '/',)), bisect.bisect_left(keys, (ns + '0',))
            if start is not None:                  # start = last key + NUL
                lo = max(lo, bisect.bisect_left(keys, (start,)))
            objs = self.objects[rt.gk]
            if not label_sel and not field_sel and (ns is None or rt.namespaced):
                # Every key of the range matches: the page is a slice of it.
                items = [(s, objs[k]) for s, k in keys[lo:hi if not limit else min(hi, lo + limit + 1)]]
                total = hi - lo
            else:
                items = []
                for skey, key in keys[lo:hi]:
                    if ns is not None and key[0] != ns:
                        continue
                    o = objs[key]
                    if lm((o['metadata']).get('labels')) and fm(o):
                        items.append((skey, o))
                total = len(items)
        cont_out, remaining = None, None
        if limit and total > limit:
            last = items[limit - 1][0]
            cont_out = base64.urlsafe_b64encode(json.dumps(
                {'v': 'meta.k8s.io/v1', 'rv': rv, 'start': last + '\x00'},
                separators=(',', ':')).encode()).decode().rstrip('=')
            if not label_sel and not freqs:
                remaining = total - limit
            items = items[:limit]
        return [o for _, o in items], rv, cont_out, remaining

    # -- the write core --
    def _managed_update(self, rt, old, new, manager, operation, subresource):
        """Field ownership after an Update: the fields this write changed move to `manager`
        (an Update never conflicts, it takes the fields over), fields that no longer exist
        leave every entry, and entries left empty are dropped."""
        of, nf = flatten(old or {}), flatten(new)
        changed = {p for p, v in nf.items() if p not in of or of[p] != v}
        entries, placed = [], False
        for e in (old or {}).get('metadata', {}).get('managedFields') or []:
            fs = from_fields_v1(e.get('fieldsV1'))
            if e.get('manager') == manager and e.get('operation') == operation and \
                    e.get('subresource') == subresource:
                placed = True
                mine = {p for p in fs if p in nf} | changed
                if mine:
                    entries.append(self._entry(manager, operation, rt.gv,
                                               now_ts() if changed else e.get('time'),
                                               mine, subresource))
                continue
            kept = {p for p in fs if p in nf and p not in changed}
            if kept == fs:
                entries.append(e)
            elif kept:
                entries.append(self._entry(e['manager'], e['operation'], e.get('apiVersion'),
                                           e.get('time'), kept, e.get('subresource')))
        if not placed and changed:
            entries.append(self._entry(manager, operation, rt.gv, now_ts(), changed, subresource))
        return entries

    @staticmethod
    def _entry(manager, operation, api_version, t, fs, subresource=None):
        e = {'manager': manager, 'operation': operation, 'apiVersion': api_version,
             'time': t, 'fieldsType': 'FieldsV1', 'fieldsV1': to_fields_v1(fs)}
        if subresource:
            e['subresource'] = subresource
        return e

    @staticmethod
    def _same(a, b):
        """Equal but for resourceVersion and managedFields times (a no-op write)."""
        def norm(o):
            o = copy.deepcopy(o)
            o['metadata'].pop('resourceVersion', None)
            for e in o['metadata'].get('managedFields') or []:
                e.pop('time', None)
            return o
        return norm(a) == norm(b)

    @staticmethod
    def _spec_part(rt, o):
        return {k: v for k, v in o.items() if k not in ('metadata', 'status', 'apiVersion', 'kind')
                or (k == 'status' and not rt.status)}

    def _commit(self, rt, old, new, manager, operation='Update', subresource=None,
                entries=None, force=False, dry_run=False):
        """Stores `new` (already validated and defaulted): generation, managedFields,
        resourceVersion, the watch event. A no-op write stores nothing, as the real server
        does: no new resourceVersion, no event."""
        meta = new['metadata']
        if old:
            ometa = old['metadata']
            for f in ('uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'):
                if f in ometa:
                    meta[f] = ometa[f]
                else:
                    meta.pop(f, None)
            if rt.generation:
                meta['generation'] = ometa.get('generation', 1) + \
                    (1 if self._spec_part(rt, old) != self._spec_part(rt, new) else 0)
            else:
                meta.pop('generation', None)
        else:
            meta['uid'] = meta.get('uid') or str(uuid.uuid4())   # create() may have set it
            meta['creationTimestamp'] = now_ts()
            if rt.generation:
                meta['generation'] = 1
            else:
                meta.pop('generation', None)
        meta.pop('selfLink', None)
        if entries is None:
            entries = self._managed_update(rt, old, new, manager, operation, subresource)
        if entries:
            meta['managedFields'] = entries
        else:
            meta.pop('managedFields', None)
        meta['resourceVersion'] = old['metadata']['resourceVersion'] if old else ''
        new['metadata'] = order_meta(meta)
        # the order a Go struct serialises in: TypeMeta, ObjectMeta, the rest, status last
        head = {k: new[k] for k in ('kind', 'apiVersion', 'metadata') if k in new}
        tail = {k: v for k, v in new.items() if k not in head and k != 'status'}
        if 'status' in new:
            tail['status'] = new['status']
        new.clear()
        new.update(head)
        new.update(tail)
        if old and not force and self._same(old, new):
            return old
        if dry_run:
            if not old:
                new['metadata'].pop('resourceVersion', None)
            return new
        self.rv += 1
        new['metadata']['resourceVersion'] = str(self.rv)
        ns = new['metadata'].get('namespace', '') if rt.namespaced else ''
        if (ns, new['metadata']['name']) not in self.objects[rt.gk]:
            self.sorted_keys.pop(rt.gk, None)
        self.objects[rt.gk][(ns, new['metadata']['name'])] = new
        self._emit('MODIFIED' if old else 'ADDED', rt, new, old)
        if new['metadata'].get('deletionTimestamp') and not new['metadata'].get('finalizers'):
            self._remove(rt, new)   # the last finalizer is gone: the object goes
        return new

    def _remove(self, rt, obj, gc=True, policy='Background'):
        ns = obj['metadata'].get('namespace', '') if rt.namespaced else ''
        key = (ns, obj['metadata']['name'])
        if key not in self.objects.get(rt.gk, {}):
            return
        del self.objects[rt.gk][key]
        self.sorted_keys.pop(rt.gk, None)
        self.rv += 1
        gone = copy.deepcopy(obj)
        gone['metadata']['resourceVersion'] = str(self.rv)   # DELETED carries the delete's RV
        self._emit('DELETED', rt, gone)
        if rt.kind == 'CustomResourceDefinition' and rt.group == 'apiextensions.k8s.io':
            self._crd_removed(obj)
        if gc:
            self._collect_dependents(obj['metadata']['uid'], policy)

    def _collect_dependents(self, uid, policy):
        """The garbage collector: dependents (ownerReferences to uid) are deleted, or with
        propagationPolicy=Orphan their ownerReferences are cut."""
        for rt in self._storage_types():
            for o in list(self.objects.get(rt.gk, {}).values()):
                refs = o['metadata'].get('ownerReferences') or []
                if not any(r.get('uid') == uid for r in refs):
                    continue
                if policy == 'Orphan':
                    n = copy.deepcopy(o)
                    n['metadata']['ownerReferences'] = [r for r in refs if r.get('uid') != uid]
                    if not n['metadata']['ownerReferences']:
                        del n['metadata']['ownerReferences']
                    self._commit(rt, o, n, 'kube-controller-manager')
                else:
                    self._remove(rt, o, policy=policy)

    def _storage_types(self):
        """One RType per stored (group, plural)."""
        seen = {}
        for rt in self.types.values():
            seen.setdefault(rt.gk, rt)
        return list(seen.values())

    def _storage_rt(self, gk):
        return next(rt for rt in self.types.values() if rt.gk == gk)

    # -- shared preparation of a body --
    def _prepare(self, rt, ns, body, old, name=None):
        if not isinstance(body, dict):
            raise bad_request('the object provided is unrecognized (must be of type %s)' % rt.kind)
        if not body.get('kind'):
            raise bad_request("Object 'Kind' is missing in '%s'" % json.dumps(body)[:200])
        if body.get('kind') != rt.kind or body.get('apiVersion') != rt.gv:
            if body.get('kind') == rt.kind:
                raise bad_request('the API version in the data (%s) does not match the expected '
                                  'API version (%s)' % (body.get('apiVersion'), rt.gv))
            raise bad_request('%s in version "%s" cannot be handled as a %s: no kind "%s" is '
                              'registered for version "%s"' % (body.get('kind'), rt.version,
                                                               rt.kind, body.get('kind'), rt.gv))
        obj = copy.deepcopy(body)
        obj['apiVersion'] = rt.gv
        meta = obj.get('metadata')
        if meta is None:
            meta = obj['metadata'] = {}
        if not isinstance(meta, dict):
            raise bad_request('%s in version "%s" cannot be handled as a %s: metadata must be an '
                              'object' % (rt.kind, rt.version, rt.kind))
        check_types(rt, obj)
        if rt.namespaced:
            if meta.get('namespace') and meta['namespace'] != ns:
                raise bad_request('the namespace of the provided object does not match the '
                                  'namespace sent on the request')
            meta['namespace'] = ns
        else:
            meta.pop('namespace', None)
        if name is not None and meta.get('name') and meta['name'] != name:
            raise bad_request('the name of the object (%s) does not match the name on the URL '
                              '(%s)' % (meta['name'], name))
        if name is not None:
            meta['name'] = name
        return obj

    def _finish(self, rt, obj, old):
        """Defaults then validation (the real order: defaulting at decode, then admission,
        then validation)."""
        REQ.unknown = []
        apply_defaults(rt, obj, old, self)
        causes = validate_name(rt, obj['metadata'].get('name'))
        causes += validate_meta(obj['metadata'])
        causes += validate(rt, obj, old, self)
        unknown, REQ.unknown = REQ.unknown, []
        mode = getattr(REQ, 'field_validation', 'Warn')
        if unknown and mode == 'Strict':
            raise bad_request('%s in version "%s" cannot be handled as a %s: strict decoding '
                              'error: %s' % (rt.kind, rt.version, rt.kind, ', '.join(
                                  'unknown field "%s"' % u for u in unknown)))
        if unknown and mode == 'Warn':
            REQ.warnings = getattr(REQ, 'warnings', []) + [
                'unknown field "%s"' % u for u in unknown]
        if causes:
            raise invalid(rt, obj['metadata'].get('name') or '', causes)

    def _check_ns(self, rt, ns):
        if rt.namespaced:
            nso = self.get_obj(('', 'namespaces'), '', ns)
            if nso is None:
                raise ApiError(404, 'NotFound', 'namespaces "%s" not found' % ns,
                               {'name': ns, 'kind': 'namespaces'})
            if nso['metadata'].get('deletionTimestamp'):
                raise ApiError(403, 'Forbidden', '%s "%s" is forbidden: unable to create new '
                               'content in namespace %s because it is being terminated'
                               % (rt.qualified, '', ns),
                               {'name': '', 'kind': rt.plural,
                                'causes': [{'reason': 'NamespaceTerminating',
                                            'message': 'namespace %s is being terminated' % ns,
                                            'field': 'metadata.namespace'}]})

    # -- create --
    def create(self, rt, ns, body, manager, dry_run=False, run_controllers=True):
        with self.lock:
            obj = self._prepare(rt, ns, body, None)
            meta = obj['metadata']
            if not meta.get('name') and meta.get('generateName'):
                meta['name'] = meta['generateName'] + rand_suffix()
            if meta.get('resourceVersion'):
                raise RV_ON_CREATE
            meta.pop('managedFields', None)
            meta.pop('deletionTimestamp', None)
            meta['uid'] = str(uuid.uuid4())   # before defaulting, which may use it (Jobs)
            if rt.status:
                obj.pop('status', None)   # status is written through /status only
            self._check_ns(rt, ns)
            self._finish(rt, obj, None)
            if self.get_obj(rt.gk, ns, meta['name']) is not None:
                raise already_exists(rt, meta['name'])
            out = self._commit(rt, None, obj, manager, dry_run=dry_run)
            if not dry_run and run_controllers:
                self.controllers(rt, out)
            return out

    # -- update --
    def update(self, rt, ns, name, body, manager, subresource=None, dry_run=False):
        with self.lock:
            old = self.get_obj(rt.gk, ns, name)
            if old is None:
                if rt.create_on_update and subresource is None:
                    b = dict(body)
                    b['metadata'] = dict(b.get('metadata') or {})
                    b['metadata'].pop('resourceVersion', None)   # cleared for storage, not refused
                    return self.create(rt, ns, b, manager, dry_run), True
                raise not_found(rt, name)
            obj = self._prepare(rt, ns, body, old, name)
            rv = obj['metadata'].get('resourceVersion')
            if rv and rv != old['metadata']['resourceVersion']:
                raise conflict(rt, name, STALE)
            uid = obj['metadata'].get('uid')
            if uid and uid != old['metadata']['uid']:
                raise conflict(rt, name, 'Precondition failed: UID in precondition: %s, UID in '
                               'object meta: %s' % (uid, old['metadata']['uid']))
            return self._update_prepared(rt, old, obj, manager, subresource, dry_run), False

    def _update_prepared(self, rt, old, obj, manager, subresource, dry_run, op='Update',
                         entries=None):
        if subresource == 'status':
            # /status changes status only: everything else comes from the stored object
            new = copy.deepcopy(old)
            if 'status' in obj:
                new['status'] = obj['status']
            else:
                new.pop('status', None)
        else:
            new = obj
            if rt.status:   # ... and the main resource ignores status
                if 'status' in old:
                    new['status'] = copy.deepcopy(old['status'])
                else:
                    new.pop('status', None)
        if subresource != 'status':
            self._finish(rt, new, old)
        out = self._commit(rt, old, new, manager, op, subresource, entries=entries,
                           dry_run=dry_run)
        if out is not old and not dry_run:
            self.controllers(rt, out)
        return out

    # -- patch --
    def patch(self, rt, ns, name, ptype, raw, manager, subresource=None, force=False,
              dry_run=False):
        with self.lock:
            if ptype == 'application/apply-patch+yaml':
                return self._apply(rt, ns, name, raw, manager, subresource, force, dry_run)
            old = self.get_obj(rt.gk, ns, name)
            if old is None:
                raise not_found(rt, name)
            try:
                patch = json.loads(raw or b'null')
            except ValueError as e:
                raise bad_request('error decoding patch: %s' % e)
            # The patch applies to the object in the request's version (conversion
            # strategy None: only apiVersion differs), as kube-apiserver converts first.
            cur = self.scale_of(rt, old) if subresource == 'scale' else \
                dict(copy.deepcopy(old), apiVersion=rt.gv)
            try:
                if ptype == 'application/merge-patch+json':
                    if not isinstance(patch, dict):
                        raise bad_request('json: cannot unmarshal %s into Go value of type '
                                          'map[string]interface {}' % type(patch).__name__)
                    new = merge_patch(cur, patch)
                elif ptype == 'application/json-patch+json':
                    new = json_patch(cur, patch)
                elif ptype == 'application/strategic-merge-patch+json':
                    if rt.crd:
                        raise self.unsupported_patch()
                    if not isinstance(patch, dict):
                        raise bad_request('json: cannot unmarshal %s into Go value of type '
                                          'map[string]interface {}' % type(patch).__name__)
                    new = strategic_merge_patch(cur, patch)
                else:
                    raise self.unsupported_patch()
            except PatchError as e:
                if e.code == 400:
                    raise bad_request(str(e))
                raise ApiError(422, 'Invalid', str(e))
            if not isinstance(new, dict):
                raise bad_request('patch did not produce an object')
            new.setdefault('metadata', {})
            # a patch that sets metadata.resourceVersion is a precondition, like a PUT's
            if subresource == 'scale':
                return self._scale_write(rt, old, new, manager, dry_run)
            obj = self._prepare(rt, ns, new, old, name)
            rv = obj['metadata'].get('resourceVersion')
            if rv and rv != old['metadata']['resourceVersion']:
                raise conflict(rt, name, STALE)
            return self._update_prepared(rt, old, obj, manager, subresource, dry_run), False

    @staticmethod
    def unsupported_patch():
        return ApiError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown '
                        'format - accepted media types include: application/json-patch+json, '
                        'application/merge-patch+json, application/apply-patch+yaml')

    def _apply(self, rt, ns, name, raw, manager, subresource, force, dry_run):
        """Server-side apply: the applied configuration is merged into the live object; the
        manager owns exactly the fields it applied; a field it applied before and no longer
        applies is removed unless another manager owns it; changing a field that another
        manager owns is a 409 Conflict unless force=true."""
        if not manager:
            raise ApiError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                           'Required value: is required for apply patch',
                           {'group': 'meta.k8s.io', 'kind': 'PatchOptions',
                            'causes': [{'reason': 'FieldValueRequired',
                                        'message': 'Required value: is required for apply patch',
                                        'field': 'fieldManager'}]})
        try:
            applied = load_yaml(raw) if raw else None
        except yaml.YAMLError as e:
            raise bad_request('error decoding YAML: %s' % e)
        if not isinstance(applied, dict):
            raise bad_request('error decoding YAML: the applied configuration is not an object')
        applied = self._prepare(rt, ns, applied, None, name)
        check_types(rt, applied)
        meta = applied['metadata']
        want_rv = meta.pop('resourceVersion', None)
        for f in ('managedFields', 'uid', 'creationTimestamp', 'generation'):
            meta.pop(f, None)
        a_flat = flatten(applied)
        a_set = set(a_flat)
        old = self.get_obj(rt.gk, ns, name)
        # a resourceVersion in the applied configuration is a precondition
        if want_rv and old is None:
            raise RV_ON_CREATE
        if want_rv and want_rv != old['metadata']['resourceVersion']:
            raise conflict(rt, name, STALE)
        if subresource == 'status':
            a_set = {p for p in a_set if p[:1] == ('f:status',)}
        elif rt.status:   # status in an apply to the main resource is reset, so not owned
            a_set = {p for p in a_set if p[:1] != ('f:status',)}
        if old is None:
            if subresource:
                raise not_found(rt, name)
            obj = copy.deepcopy(applied)
            if rt.status and rt.kind not in ('Service', 'Namespace'):
                obj.pop('status', None)
            obj['metadata']['uid'] = str(uuid.uuid4())
            self._check_ns(rt, ns)
            self._finish(rt, obj, None)
            a_set &= set(flatten(obj))
            entries = [self._entry(manager, 'Apply', rt.gv, now_ts(), a_set)] if a_set else []
            out = self._commit(rt, None, obj, manager, 'Apply', entries=entries, dry_run=dry_run)
            if not dry_run:
                self.controllers(rt, out)
            return out, True
        live_flat = flatten(old)
        conflicts = collections.OrderedDict()
        others, mine_before = [], set()
        for e in old['metadata'].get('managedFields') or []:
            fs = from_fields_v1(e.get('fieldsV1'))
            if e.get('manager') == manager and e.get('operation') == 'Apply' and \
                    e.get('subresource') == subresource:
                mine_before = fs
                continue
            others.append((e, fs))
            for p in sorted(a_set & fs):
                if p in live_flat and live_flat[p] != a_flat.get(p) and p[-1] != '.':
                    conflicts.setdefault((e['manager'], e.get('apiVersion')), []).append(p)
        if conflicts and not force:
            n = sum(len(v) for v in conflicts.values())
            parts = []
            for (m, av), ps in conflicts.items():
                if len(ps) == 1:
                    parts.append('conflict with "%s" using %s: %s' % (m, av, path_string(ps[0])))
                else:
                    parts.append('conflicts with "%s" using %s:\n' % (m, av) +
                                 '\n'.join('- ' + path_string(p) for p in ps))
            msg = 'Apply failed with %d conflict%s: %s' % (n, '' if n == 1 else 's',
                                                          '\n'.join(parts))
            d = _details(rt, name)
            d['causes'] = [{'reason': 'FieldManagerConflict',
                            'message': 'conflict with "%s" using %s' % (m, av),
                            'field': path_string(p)}
                           for (m, av), ps in conflicts.items() for p in ps]
            raise ApiError(409, 'Conflict', msg, d)
        if subresource == 'status':
            merged = copy.deepcopy(old)
            merged['status'] = apply_merge(old.get('status') or {}, applied.get('status') or {})
        else:
            merged = apply_merge(old, applied)
            if rt.status:
                merged['status'] = copy.deepcopy(old.get('status'))
                if merged['status'] is None:
                    merged.pop('status')
        owned_by_others = set().union(*[fs for _, fs in others]) if others else set()
        for p in sorted(mine_before - a_set, key=len, reverse=True):
            if p in owned_by_others:
                continue
            if p[-1] == '.' and any(q[:len(p) - 1] == p[:-1] for q in owned_by_others):
                continue
            remove_path(merged, p)
        changed = {p for p in a_set if live_flat.get(p, object()) != a_flat.get(p)}
        entries = []
        placed = False
        for e in old['metadata'].get('managedFields') or []:
            if e.get('manager') == manager and e.get('operation') == 'Apply' and \
                    e.get('subresource') == subresource:
                entries.append(None)
                placed = True
                continue
            # fields this apply changed leave their other owners (forced, or unowned before)
            before = from_fields_v1(e.get('fieldsV1'))
            fs = before - changed
            if fs == before:
                entries.append(e)
            elif fs:
                entries.append(self._entry(e['manager'], e['operation'], e.get('apiVersion'),
                                           e.get('time'), fs, e.get('subresource')))
        merged['metadata']['resourceVersion'] = old['metadata']['resourceVersion']
        if subresource != 'status':
            self._finish(rt, merged, old)
        final_flat = flatten(merged)
        mine_set = a_set & set(final_flat)   # what the server dropped (status...) is not owned
        mine = self._entry(manager, 'Apply', rt.gv, now_ts(), mine_set, subresource)
        if mine_before == mine_set and not changed and placed:
            # nothing new: keep the entry as it was, so that the write can be a no-op
            mine = next(e for e in old['metadata']['managedFields']
                        if e.get('manager') == manager and e.get('operation') == 'Apply' and
                        e.get('subresource') == subresource)
        entries = [mine if e is None else self._reentry(e, final_flat) for e in entries]
        if not placed:
            entries.append(mine)
        entries = [e for e in entries if e and e.get('fieldsV1')]
        out = self._commit(rt, old, merged, manager, 'Apply', subresource, entries=entries,
                           dry_run=dry_run)
        if out is not old and not dry_run:
            self.controllers(rt, out)
        return out, False

    def _reentry(self, e, final_flat):
        fs = {p for p in from_fields_v1(e.get('fieldsV1')) if p in final_flat}
        if fs == from_fields_v1(e.get('fieldsV1')):
            return e
        return self._entry(e['manager'], e['operation'], e.get('apiVersion'), e.get('time'), fs,
                           e.get('subresource')) if fs else None

    # -- scale subresource --
    def scale_of(self, rt, obj):
        sel = (obj.get('spec') or {}).get('selector') or {}
        if rt.kind != 'ReplicationController':
            sel = sel.get('matchLabels') or {}
        m = obj['metadata']
        return {'kind': 'Scale', 'apiVersion': 'autoscaling/v1',
                'metadata': {'name': m['name'], 'namespace': m.get('namespace'), 'uid': m['uid'],
                             'resourceVersion': m['resourceVersion'],
                             'creationTimestamp': m['creationTimestamp']},
                'spec': {'replicas': (obj.get('spec') or {}).get('replicas', 0)},
                'status': {'replicas': (obj.get('status') or {}).get('replicas', 0),
                           'selector': ','.join('%s=%s' % kv for kv in sorted(sel.items()))}}

    def update_scale(self, rt, ns, name, body, manager, dry_run=False):
        with self.lock:
            old = self.get_obj(rt.gk, ns, name)
            if old is None:
                raise not_found(rt, name)
            return self._scale_write(rt, old, body, manager, dry_run)

    def _scale_write(self, rt, old, scale, manager, dry_run):
        rv = (scale.get('metadata') or {}).get('resourceVersion')
        if rv and rv != old['metadata']['resourceVersion']:
            raise conflict(rt, old['metadata']['name'], STALE)
        replicas = (scale.get('spec') or {}).get('replicas')
        if replicas is None and 'spec' in scale and 'replicas' in (old.get('spec') or {}):
            replicas = old['spec']['replicas']
        new = copy.deepcopy(old)
        new['spec']['replicas'] = replicas
        self._finish(rt, new, old)
        out = self._commit(rt, old, new, manager, 'Update', 'scale', dry_run=dry_run)
        if out is not old and not dry_run:
            self.controllers(rt, out)
        return self.scale_of(rt, out), False

    # -- delete --
    def delete(self, rt, ns, name, opts, dry_run=False):
        """-> (object, code, as_status): as_status means answer a Status Success naming the
        object, as the real server does for most resources (ReturnDeletedObject=false)."""
        with self.lock:
            old = self.get_obj(rt.gk, ns, name)
            if old is None:
                raise not_found(rt, name)
            pre = (opts or {}).get('preconditions') or {}
            if pre.get('uid') and pre['uid'] != old['metadata']['uid']:
                raise conflict(rt, name, 'Precondition failed: UID in precondition: %s, UID in '
                               'object meta: %s' % (pre['uid'], old['metadata']['uid']))
            if pre.get('resourceVersion') and \
                    pre['resourceVersion'] != old['metadata']['resourceVersion']:
                raise conflict(rt, name, 'Precondition failed: ResourceVersion in precondition: '
                               '%s, ResourceVersion in object meta: %s'
                               % (pre['resourceVersion'], old['metadata']['resourceVersion']))
            policy = (opts or {}).get('propagationPolicy') or \
                ('Orphan' if (opts or {}).get('orphanDependents') else 'Background')
            if rt.kind == 'Namespace' and rt.group == '':
                if name in ('default', 'kube-system', 'kube-public'):
                    raise ApiError(403, 'Forbidden', 'namespaces "%s" is forbidden: this '
                                   'namespace may not be deleted' % name,
                                   {'name': name, 'kind': 'namespaces'})
                if dry_run:
                    return old, 200, False
                return self._delete_namespace(rt, old), 200, False
            if dry_run:
                return old, 200, rt.kind != 'Pod'

            if old['metadata'].get('finalizers'):
                # finalizers hold the object: it is marked and goes when the last is removed
                if old['metadata'].get('deletionTimestamp'):
                    return old, 202, False
                new = copy.deepcopy(old)
                new['metadata']['deletionTimestamp'] = now_ts()
                new['metadata']['deletionGracePeriodSeconds'] = 0
                return self._commit(rt, old, new, 'kube-apiserver', force=True), 202, False
            if rt.kind == 'CustomResourceDefinition' and rt.group == 'apiextensions.k8s.io':
                return self._delete_crd(rt, old), 200, False
            self._remove(rt, old, policy=policy)
            self.controllers(rt, old, deleted=True)
            # pods answer with the object (graceful deletion), most others with a Status
            return old, 200, rt.kind != 'Pod'

    def delete_collection(self, rt, ns, label_sel, field_sel, opts, dry_run=False):
        with self.lock:
            items, _, _, _ = self.list(rt, ns, label_sel, field_sel)
            out = []
            for o in items:
                self.delete(rt, o['metadata'].get('namespace'), o['metadata']['name'], opts,
                            dry_run)
                out.append(o)
            return out

    def _delete_namespace(self, rt, old):
        # What the namespace lifecycle does, run at once: Terminating, the content is deleted,
        # the `kubernetes` finalizer is removed, the namespace goes.
        new = copy.deepcopy(old)
        new['metadata']['deletionTimestamp'] = now_ts()
        new['status'] = {'phase': 'Terminating'}
        term = self._commit(rt, old, new, 'kube-apiserver', force=True)
        name = old['metadata']['name']
        for srt in self._storage_types():
            if not srt.namespaced:
                continue
            for key in sorted(k for k in self.objects.get(srt.gk, {}) if k[0] == name):
                o = self.objects[srt.gk].get(key)
                if o is not None:
                    self._remove(srt, o, gc=False)
        self._remove(rt, term, gc=False)
        return term

    def _delete_crd(self, rt, old):
        new = copy.deepcopy(old)
        new['metadata']['deletionTimestamp'] = now_ts()
        new['metadata']['finalizers'] = ['customresourcecleanup.apiextensions.k8s.io']
        new.setdefault('status', {})['conditions'] = [
            c for c in (old.get('status') or {}).get('conditions') or []
            if c.get('type') != 'Terminating'] + [{
                'type': 'Terminating', 'status': 'True', 'lastTransitionTime': now_ts(),
                'reason': 'InstanceDeletionInProgress',
                'message': 'CustomResource deletion is in progress'}]
        term = self._commit(rt, old, new, 'kube-apiserver', force=True)
        spec = old.get('spec') or {}
        gk = (spec.get('group'), (spec.get('names') or {}).get('plural'))
        crt = next((t for t in self.types.values() if t.gk == gk), None)
        if crt:
            for key in sorted(self.objects.get(gk, {})):
                self._remove(crt, self.objects[gk][key], gc=False)
        self._remove(rt, term, gc=False)
        return term

    # -- CRDs --
    def _crd_removed(self, crd):
        spec = crd.get('spec') or {}
        gk = (spec.get('group'), (spec.get('names') or {}).get('plural'))
        for key in [k for k, t in self.types.items() if t.gk == gk]:
            del self.types[key]
        self.objects.pop(gk, None)
        self.close_watches(gk)
        self.discovery_gen += 1

    def _register_crd(self, crd):
        spec = crd.get('spec') or {}
        names = spec.get('names') or {}
        group, plural = spec.get('group'), names.get('plural')
        for key in [k for k, t in self.types.items() if t.gk == (group, plural)]:
            del self.types[key]
        for v in spec.get('versions') or []:
            if not v.get('served', True):
                continue
            rt = RType(group, v['name'], plural, names.get('kind'),
                       namespaced=spec.get('scope') == 'Namespaced',
                       short=names.get('shortNames') or [], cats=names.get('categories') or [],
                       status='status' in (v.get('subresources') or {}),
                       scale=False, generation=True, singular=names.get('singular'),
                       crd=crd['metadata']['name'],
                       columns=v.get('additionalPrinterColumns'),
                       schema=(v.get('schema') or {}).get('openAPIV3Schema') or {},
                       deprecation=(v.get('deprecationWarning') or '%s/%s %s is deprecated' % (
                           group, v['name'], names.get('kind'))) if v.get('deprecated') else None)
            self.types[(group, v['name'], plural)] = rt
        self.discovery_gen += 1

    # -- controllers --
    def controllers(self, rt, obj, deleted=False):
        """What kube-controller-manager (and kubelet, and the apiextensions controller) would
        do after this write, done at once so that a client sees a settled state when its
        request returns; each step is its own write with its own watch event."""
        k, g = rt.kind, rt.group
        ns = obj['metadata'].get('namespace')
        if k == 'Namespace' and g == '' and not deleted:
            self._namespace_controller(obj)
        elif k == 'CustomResourceDefinition' and g == 'apiextensions.k8s.io' and not deleted:
            self._crd_controller(rt, obj)
        elif (k in ('Deployment', 'ReplicaSet', 'Pod') and g in ('apps', '')) and ns:
            self._workloads(ns)
        elif k == 'Job' and g == 'batch' and ns and not deleted and self.kubelet_on:
            self._jobs(ns)
        elif k == 'APIService' and g == 'apiregistration.k8s.io' and not deleted:
            self._apiservice_available(obj)
        elif k == 'Service' and g == '':
            for a in self.all_of(('apiregistration.k8s.io', 'apiservices')):
                ref = (a.get('spec') or {}).get('service') or {}
                if ref.get('namespace') == ns and ref.get('name') == obj['metadata']['name']:
                    self._apiservice_available(a)

    def _sys_create(self, gk, ns, obj, manager='kube-controller-manager'):
        rt = self._storage_rt(gk)
        if self.get_obj(gk, ns, obj['metadata']['name']) is not None:
            return None
        obj.setdefault('apiVersion', rt.gv)
        obj['metadata']['namespace'] = ns
        return self.create(rt, ns, obj, manager, run_controllers=False)

    def _sys_write(self, gk, old, new, manager='kube-controller-manager', sub=None):
        rt = self._storage_rt(gk)
        if sub is None:
            self._finish(rt, new, old)
        return self._commit(rt, old, new, manager, 'Update', sub)

    def _apiservice_available(self, a):
        """kube-aggregator's availability controller, run at once: the Available condition
        (nothing is proxied, so an APIService backed by a Service is never available)."""
        cur = self.get_obj(('apiregistration.k8s.io', 'apiservices'), '', a['metadata']['name'])
        if cur is None:
            return
        old = {c.get('type'): c for c in (cur.get('status') or {}).get('conditions') or []}
        cond = emu_kinds.apiservice_status((cur.get('spec') or {}).get('service'),
                                           lambda g, r, ns, n: self.get_obj((g, r), ns, n),
                                           now_ts())
        prev = old.get('Available')
        if prev and prev.get('status') == cond['status']:
            cond['lastTransitionTime'] = prev.get('lastTransitionTime')
        if prev == cond:
            return
        n = copy.deepcopy(cur)
        n.setdefault('status', {})['conditions'] = [cond]
        self._sys_write(('apiregistration.k8s.io', 'apiservices'), cur, n, 'kube-apiserver',
                        'status')

    def _namespace_controller(self, nsobj):
        if nsobj['metadata'].get('deletionTimestamp'):
            return
        ns = nsobj['metadata']['name']
        self._sys_create(('', 'serviceaccounts'), ns, {
            'kind': 'ServiceAccount', 'metadata': {'name': 'default'}})
        self._sys_create(('', 'configmaps'), ns, {
            'kind': 'ConfigMap', 'metadata': {'name': 'kube-root-ca.crt', 'annotations': {
                'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the '
                'kube-apiserver when using internal endpoints such as the internal service IP or '
                'kubernetes.default.svc. No other usage is guaranteed across distributions of '
                'Kubernetes clusters.'}},
            'data': {'ca.crt': self.ca_pem}}, 'kube-controller-manager')

    def _crd_controller(self, rt, crd):
        if crd['metadata'].get('deletionTimestamp'):
            return
        self._register_crd(crd)
        spec = crd['spec']
        t = now_ts()
        old_st = crd.get('status') or {}
        conds = {c['type']: c for c in old_st.get('conditions') or []}

        def cond(ty, reason, msg):
            c = conds.get(ty)
            return {'type': ty, 'status': 'True',
                    'lastTransitionTime': c['lastTransitionTime'] if c else t,
                    'reason': reason, 'message': msg}
        st = {'acceptedNames': {k: v for k, v in spec['names'].items()},
              'conditions': [cond('NamesAccepted', 'NoConflicts', 'no conflicts found'),
                             cond('Established', 'InitialNamesAccepted',
                                  'the initial names have been accepted')],
              'storedVersions': sorted(set(old_st.get('storedVersions') or []) |
                                       {v['name'] for v in spec['versions'] if v.get('storage')})}
        if st != old_st:
            new = copy.deepcopy(crd)
            new['status'] = st
            self._commit(rt, crd, new, 'kube-apiserver', 'Update', 'status')

    # Deployment -> ReplicaSet -> Pods, then statuses.
    @staticmethod
    def _owned_by(o, uid):
        return any(r.get('uid') == uid and r.get('controller')
                   for r in o['metadata'].get('ownerReferences') or [])

    @staticmethod
    def _owner_ref(o, api_version):
        return {'apiVersion': api_version, 'kind': o['kind'], 'name': o['metadata']['name'],
                'uid': o['metadata']['uid'], 'controller': True, 'blockOwnerDeletion': True}

    @staticmethod
    def template_hash(tmpl):
        """pod-template-hash: the real controller hashes the template with FNV-32a and encodes
        the decimal number with rand.SafeEncodeString; same shape here."""
        data = json.dumps(tmpl, sort_keys=True, separators=(',', ':')).encode()
        h = 0x811c9dc5
        for b in data:
            h = ((h ^ b) * 0x01000193) & 0xffffffff
        return ''.join(RAND_ALPHABET[ord(c) % len(RAND_ALPHABET)] for c in str(h))

    @staticmethod
    def _strip_hash(tmpl):
        t = copy.deepcopy(tmpl or {})
        (t.get('metadata') or {}).get('labels', {}).pop('pod-template-hash', None)
        return t

    def _in_ns(self, gk, ns):
        return [o for (n, _), o in sorted(self.objects.get(gk, {}).items()) if n == ns]

    def _workloads(self, ns):
        D, R, P = ('apps', 'deployments'), ('apps', 'replicasets'), ('', 'pods')
        for d in self._in_ns(D, ns):
            if not d['metadata'].get('deletionTimestamp'):
                self._deployment_rs(d)
        for rs in self._in_ns(R, ns):
            self._rs_pods(rs)
        for p in self._in_ns(P, ns):
            self._kubelet(p)
        for rs in self._in_ns(R, ns):
            self._rs_status(rs)
        for d in self._in_ns(D, ns):
            cur = self.get_obj(D, ns, d['metadata']['name'])
            if cur is not None:
                self._deployment_status(cur)
        if self.kubelet_on:
            self._jobs(ns)

    def _deployment_rs(self, d):
        ns, uid = d['metadata']['namespace'], d['metadata']['uid']
        R = ('apps', 'replicasets')
        rss = [r for r in self._in_ns(R, ns) if self._owned_by(r, uid)]
        tmpl = d['spec'].get('template') or {}
        want = d['spec'].get('replicas', 1)
        cur = next((r for r in rss if self._strip_hash(r['spec'].get('template')) == tmpl), None)
        revs = [int((r['metadata'].get('annotations') or {}).get(
            'deployment.kubernetes.io/revision', '0')) for r in rss]
        if cur is None:
            h = self.template_hash(tmpl)
            rev = str(max(revs + [0]) + 1)
            t = copy.deepcopy(tmpl)
            t.setdefault('metadata', {}).setdefault('labels', {})['pod-template-hash'] = h
            sel = copy.deepcopy(d['spec']['selector'])
            sel.setdefault('matchLabels', {})['pod-template-hash'] = h
            labels = dict((tmpl.get('metadata') or {}).get('labels') or {})
            labels['pod-template-hash'] = h
            cur = self._sys_create(R, ns, {
                'kind': 'ReplicaSet', 'apiVersion': 'apps/v1',
                'metadata': {'name': '%s-%s' % (d['metadata']['name'], h), 'labels': labels,
                             'annotations': self._rs_annotations(d, rev),
                             'ownerReferences': [self._owner_ref(d, 'apps/v1')]},
                'spec': {'replicas': want, 'selector': sel, 'template': t}})
            if cur is None:   # name taken (hash collision): the real one bumps collisionCount
                return
        else:
            ann = cur['metadata'].get('annotations') or {}
            rev = ann.get('deployment.kubernetes.io/revision', '1')
            if int(rev) < max(revs):
                rev = str(max(revs) + 1)   # a rollback: the old ReplicaSet becomes the newest
            if cur['spec'].get('replicas') != want or rev != ann.get(
                    'deployment.kubernetes.io/revision') or \
                    ann.get('deployment.kubernetes.io/desired-replicas') != str(want):
                n = copy.deepcopy(cur)
                n['spec']['replicas'] = want
                n['metadata'].setdefault('annotations', {}).update(self._rs_annotations(d, rev))
                self._sys_write(R, cur, n)
        # the Deployment carries the revision of its newest ReplicaSet
        if (d['metadata'].get('annotations') or {}).get('deployment.kubernetes.io/revision') != rev:
            n = copy.deepcopy(d)
            n['metadata'].setdefault('annotations', {})['deployment.kubernetes.io/revision'] = rev
            self._sys_write(('apps', 'deployments'), d, n)
        # the old ReplicaSets are scaled down (at once: no surge/unavailability pacing) ...
        olds = [r for r in rss if r['metadata']['uid'] != cur['metadata']['uid']]
        for r in olds:
            if r['spec'].get('replicas') != 0:
                n = copy.deepcopy(r)
                n['spec']['replicas'] = 0
                self._sys_write(R, r, n)
        # ... and beyond revisionHistoryLimit deleted, oldest first
        limit = d['spec'].get('revisionHistoryLimit', 10)
        olds.sort(key=lambda r: int((r['metadata'].get('annotations') or {}).get(
            'deployment.kubernetes.io/revision', '0')))
        for r in olds[:max(0, len(olds) - limit)]:
            cur_r = self.get_obj(R, ns, r['metadata']['name'])
            if cur_r is not None:
                self._remove(self._storage_rt(R), cur_r)

    @staticmethod
    def _rs_annotations(d, rev):
        want = d['spec'].get('replicas', 1)
        surge = ((d['spec'].get('strategy') or {}).get('rollingUpdate') or {}).get('maxSurge', 0)
        if isinstance(surge, str) and surge.endswith('%'):
            surge = -(-want * int(surge[:-1]) // 100)
        return {'deployment.kubernetes.io/desired-replicas': str(want),
                'deployment.kubernetes.io/max-replicas': str(want + int(surge or 0)),
                'deployment.kubernetes.io/revision': rev}

    def _rs_pods(self, rs):
        ns, uid = rs['metadata']['namespace'], rs['metadata']['uid']
        P = ('', 'pods')
        pods = [p for p in self._in_ns(P, ns) if self._owned_by(p, uid)
                and not p['metadata'].get('deletionTimestamp')]
        want = rs['spec'].get('replicas', 1)
        tmpl = rs['spec'].get('template') or {}
        for _ in range(want - len(pods)):
            meta = copy.deepcopy(tmpl.get('metadata') or {})
            meta.pop('creationTimestamp', None)
            meta['generateName'] = rs['metadata']['name'] + '-'
            meta['name'] = rs['metadata']['name'] + '-' + rand_suffix()
            meta['ownerReferences'] = [self._owner_ref(rs, 'apps/v1')]
            self._sys_create(P, ns, {'kind': 'Pod', 'apiVersion': 'v1', 'metadata': meta,
                                     'spec': copy.deepcopy(tmpl.get('spec') or {})})
        for p in sorted(pods, key=lambda p: p['metadata']['creationTimestamp'],
                        reverse=True)[:max(0, len(pods) - want)]:
            self._remove(self._storage_rt(P), p)

    def set_kubelet(self, pull_fail, crash):
        """Which images cannot be pulled and which crash; every pod is looked at again."""
        with self.lock:
            self.pull_fail, self.crash = set(pull_fail or ()), set(crash or ())
            self.kubelet_on = True
            nss = {n for (n, _) in self.objects.get(('', 'pods'), {})} | \
                {n for (n, _) in self.objects.get(('batch', 'jobs'), {})}
            for ns in sorted(nss):
                self._workloads(ns)
            return {'pull_fail': sorted(self.pull_fail), 'crash': sorted(self.crash)}

    def _pod_outcome(self, p):
        """What the kubelet makes of a pod: (phase, {container: waiting reason or None})."""
        out = {}
        for c in p['spec'].get('containers') or []:
            img = c.get('image', '')
            out[c.get('name')] = ('ImagePullBackOff' if img in self.pull_fail else
                                  'CrashLoopBackOff' if img in self.crash else None)
        pending = any(r == 'ImagePullBackOff' for r in out.values())
        return ('Pending' if pending else 'Running'), out

    def _kubelet(self, p):
        """Pods start at once: phase Running, every container ready - unless its image is one
        that cannot be pulled (Pending, ImagePullBackOff) or crashes (Running,
        CrashLoopBackOff, not ready), as set with POST /_emu/kubelet."""
        if p['metadata'].get('deletionTimestamp') or \
                (p.get('status') or {}).get('phase') in ('Succeeded', 'Failed'):
            return
        phase, outcome = self._pod_outcome(p)
        st = p.get('status') or {}
        if phase == 'Running' and any(r.get('kind') == 'Job' and r.get('controller') for r in
                                      p['metadata'].get('ownerReferences') or []):
            return self._kubelet_run_to_end(p, outcome)
        seen = {c.get('name'): ((c.get('state') or {}).get('waiting') or {}).get('reason')
                for c in st.get('containerStatuses') or []}
        if st.get('phase') == phase and seen == outcome:
            return
        t = now_ts()
        ip = st.get('podIP')
        if not ip:
            self.pod_ip += 1
            ip = '10.244.%d.%d' % (self.pod_ip // 250, self.pod_ip % 250 + 2)
        cs = []
        for c in p['spec'].get('containers') or []:
            img = c.get('image', '')
            full = img if '/' in img else 'docker.io/library/' + img
            why = outcome[c.get('name')]
            entry = {'image': full, 'lastState': {}, 'name': c.get('name'),
                     'ready': why is None, 'restartCount': 0, 'started': why is None}
            if why == 'ImagePullBackOff':
                entry['state'] = {'waiting': {'reason': why, 'message':
                                              'Back-off pulling image "%s"' % img}}
            elif why == 'CrashLoopBackOff':
                entry.update({'containerID': 'containerd://' + uuid.uuid4().hex,
                              'imageID': 'docker.io/library/%s@sha256:%s' % (
                                  img.split(':')[0], uuid.uuid4().hex * 2),
                              'restartCount': 3,
                              'lastState': {'terminated': {'exitCode': 1, 'reason': 'Error',
                                                           'startedAt': t, 'finishedAt': t}}})
                entry['state'] = {'waiting': {'reason': why, 'message':
                                              'back-off 40s restarting failed container=%s '
                                              'pod=%s_%s(%s)' % (
                                                  c.get('name'), p['metadata']['name'],
                                                  p['metadata'].get('namespace'),
                                                  p['metadata']['uid'])}}
            else:
                entry.update({'containerID': 'containerd://' + uuid.uuid4().hex +
                              uuid.uuid4().hex,
                              'imageID': 'docker.io/library/%s@sha256:%s' % (
                                  img.split(':')[0], uuid.uuid4().hex * 2),
                              'state': {'running': {'startedAt': t}}})
            cs.append(entry)
        ready = all(v is None for v in outcome.values())

        def pc(ty, ok):
            c = {'type': ty, 'status': 'True' if ok else 'False', 'lastProbeTime': None,
                 'lastTransitionTime': t}
            if not ok:
                c['reason'] = 'ContainersNotReady'
                c['message'] = 'containers with unready status: [%s]' % ' '.join(
                    n for n, v in outcome.items() if v)
            return c
        conds = [pc('PodReadyToStartContainers', True), pc('Initialized', True),
                 pc('Ready', ready), pc('ContainersReady', ready), pc('PodScheduled', True)]
        n = copy.deepcopy(p)
        n['status'] = {'phase': phase, 'conditions': conds, 'hostIP': '172.18.0.2',
                       'hostIPs': [{'ip': '172.18.0.2'}], 'podIP': ip, 'podIPs': [{'ip': ip}],
                       'startTime': st.get('startTime', t), 'containerStatuses': cs,
                       'qosClass': 'BestEffort'}
        self._sys_write(('', 'pods'), p, n, 'kubelet', 'status')

    def _kubelet_run_to_end(self, p, outcome):
        """A Job's pod runs to its end: Succeeded, or Failed (exit code 1) when an image
        crashes."""
        t = now_ts()
        failed = any(v == 'CrashLoopBackOff' for v in outcome.values())
        cs = [{'name': c.get('name'), 'image': c.get('image', ''), 'ready': False,
               'restartCount': 0, 'started': False, 'lastState': {},
               'state': {'terminated': {'exitCode': 1 if outcome[c.get('name')] else 0,
                                        'reason': 'Error' if outcome[c.get('name')]
                                        else 'Completed', 'startedAt': t, 'finishedAt': t}}}
              for c in p['spec'].get('containers') or []]
        n = copy.deepcopy(p)
        n['status'] = {'phase': 'Failed' if failed else 'Succeeded', 'startTime': t,
                       'hostIP': '172.18.0.2', 'containerStatuses': cs,
                       'qosClass': 'BestEffort',
                       'conditions': [{'type': 'Ready', 'status': 'False',
                                       'reason': 'PodCompleted', 'lastProbeTime': None,
                                       'lastTransitionTime': t}]}
        self._sys_write(('', 'pods'), p, n, 'kubelet', 'status')

    def _jobs(self, ns):
        """The Job controller, at once: one pod at a time until `completions` succeeded
        (Complete) or more than `backoffLimit` failed (Failed, BackoffLimitExceeded)."""
        J, P = ('batch', 'jobs'), ('', 'pods')
        for job in self._in_ns(J, ns):
            for _ in range(64):   # each pass creates at most one pod
                job = self.get_obj(J, ns, job['metadata']['name'])
                if job is None or job['metadata'].get('deletionTimestamp') or \
                        not self._job_step(job, P):
                    break

    def _job_step(self, job, P):
        """One step of one Job; True when it created a pod (look again)."""
        ns, uid = job['metadata']['namespace'], job['metadata']['uid']
        st = job.get('status') or {}
        if any(c.get('type') in ('Complete', 'Failed') and c.get('status') == 'True'
               for c in st.get('conditions') or []):
            return False
        spec = job['spec']
        pods = [p for p in self._in_ns(P, ns) if self._owned_by(p, uid)]
        phases = [(p.get('status') or {}).get('phase') for p in pods]
        ok, bad = phases.count('Succeeded'), phases.count('Failed')
        active = len(pods) - ok - bad
        t = now_ts()
        n = copy.deepcopy(job)
        nst = {'startTime': st.get('startTime', t), 'active': active, 'succeeded': ok,
               'failed': bad, 'ready': 0}
        created = False
        if ok >= spec.get('completions', 1):
            nst['conditions'] = [{'type': 'Complete', 'status': 'True', 'lastProbeTime': t,
                                  'lastTransitionTime': t}]
            nst['completionTime'] = t
        elif bad > spec.get('backoffLimit', 6):
            nst['conditions'] = [{'type': 'Failed', 'status': 'True', 'lastProbeTime': t,
                                  'lastTransitionTime': t, 'reason': 'BackoffLimitExceeded',
                                  'message': 'Job has reached the specified backoff limit'}]
        elif active == 0:
            tmpl = spec.get('template') or {}
            meta = copy.deepcopy(tmpl.get('metadata') or {})
            meta['name'] = job['metadata']['name'] + '-' + rand_suffix()
            meta['ownerReferences'] = [self._owner_ref(job, 'batch/v1')]
            pod = self._sys_create(P, ns, {'kind': 'Pod', 'apiVersion': 'v1', 'metadata': meta,
                                           'spec': copy.deepcopy(tmpl.get('spec') or {})})
            if pod is not None:
                self._kubelet(pod)
                created = True
        for k in [k for k, v in nst.items() if v == 0]:
            del nst[k]   # the API leaves zero counts out
        if not created and nst != st:
            n['status'] = nst
            self._sys_write(('batch', 'jobs'), job, n, sub='status')
        return created

    @staticmethod
    def _pod_ready(p):
        return any(c.get('type') == 'Ready' and c.get('status') == 'True'
                   for c in (p.get('status') or {}).get('conditions') or [])

    def _rs_status(self, rs):
        ns, uid = rs['metadata']['namespace'], rs['metadata']['uid']
        pods = [p for p in self._in_ns(('', 'pods'), ns) if self._owned_by(p, uid)]
        ready = sum(1 for p in pods if self._pod_ready(p))
        st = {'replicas': len(pods)}
        if pods:
            st['fullyLabeledReplicas'] = len(pods)
        if ready:
            st['readyReplicas'] = ready
            st['availableReplicas'] = ready
        st['observedGeneration'] = rs['metadata'].get('generation', 1)
        if (rs.get('status') or {}) != st:
            n = copy.deepcopy(rs)
            n['status'] = st
            self._sys_write(('apps', 'replicasets'), rs, n, sub='status')

    def _deployment_status(self, d, force=False):
        ns, uid = d['metadata']['namespace'], d['metadata']['uid']
        rss = [r for r in self._in_ns(('apps', 'replicasets'), ns) if self._owned_by(r, uid)]
        tmpl = d['spec'].get('template') or {}
        cur = next((r for r in rss if self._strip_hash(r['spec'].get('template')) == tmpl), None)
        total = sum((r.get('status') or {}).get('replicas', 0) for r in rss)
        ready = sum((r.get('status') or {}).get('readyReplicas', 0) for r in rss)
        avail = sum((r.get('status') or {}).get('availableReplicas', 0) for r in rss)
        updated = (cur.get('status') or {}).get('replicas', 0) if cur else 0
        want = d['spec'].get('replicas', 1)
        old = d.get('status') or {}
        t = now_ts()
        oc = {c['type']: c for c in old.get('conditions') or []}

        def cond(ty, reason, msg):
            c = oc.get(ty) or {}
            same = c.get('reason') == reason and c.get('status') == 'True'
            return {'type': ty, 'status': 'True',
                    'lastUpdateTime': c.get('lastUpdateTime', t) if same and not force else t,
                    'lastTransitionTime': c.get('lastTransitionTime', t),
                    'reason': reason, 'message': msg}
        st = {'observedGeneration': d['metadata'].get('generation', 1)}
        if total:
            st['replicas'] = total
        if updated:
            st['updatedReplicas'] = updated
        if ready:
            st['readyReplicas'] = ready
        if avail:
            st['availableReplicas'] = avail
        if total - avail > 0:
            st['unavailableReplicas'] = total - avail
        rsname = cur['metadata']['name'] if cur else ''
        # Progressing, as the deployment controller says it: done when every replica is
        # updated and available; else progressing, until progressDeadlineSeconds pass since
        # this rollout began: then False, ProgressDeadlineExceeded (kubectl rollout status
        # fails on it).
        done = updated >= want and avail >= want and total <= want
        if done:
            self.progress_start.pop(uid, None)
            progressing = cond('Progressing', 'NewReplicaSetAvailable',
                               'ReplicaSet "%s" has successfully progressed.' % rsname)
        else:
            began = self.progress_start.get(uid)
            if began is None or began[0] != rsname:
                began = self.progress_start[uid] = (rsname, time.time())
            deadline = d['spec'].get('progressDeadlineSeconds', 600)
            if time.time() - began[1] >= deadline:
                progressing = cond('Progressing', 'ProgressDeadlineExceeded',
                                   'ReplicaSet "%s" has timed out progressing.' % rsname)
                progressing['status'] = 'False'
            else:
                progressing = cond('Progressing', 'ReplicaSetUpdated',
                                   'ReplicaSet "%s" is progressing.' % rsname)
        st['conditions'] = [
            cond('Available', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
            if avail >= want else
            cond('Available', 'MinimumReplicasUnavailable',
                 'Deployment does not have minimum availability.'),
            progressing]
        if st != old or force:
            n = copy.deepcopy(d)
            n['status'] = st
            rt = self._storage_rt(('apps', 'deployments'))
            self._commit(rt, d, n, 'kube-controller-manager', 'Update', 'status', force=force)

    def deadline_tick(self):
        """The deployment controller's resync: a rollout whose progress deadline has passed
        gets its ProgressDeadlineExceeded now, without waiting for another write."""
        with self.lock:
            D = ('apps', 'deployments')
            for d in list(self.objects.get(D, {}).values()):
                began = self.progress_start.get(d['metadata']['uid'])
                if began and time.time() - began[1] >= d['spec'].get('progressDeadlineSeconds',
                                                                     600):
                    self._deployment_status(d)

    def status_tick(self):
        """A status-only write of every Deployment: new resourceVersion, same spec/metadata."""
        with self.lock:
            n = 0
            for d in list(self.objects.get(('apps', 'deployments'), {}).values()):
                self._deployment_status(d, force=True)
                n += 1
            return n

    # -- start-up state --
    def bootstrap(self):
        with self.lock:
            boot = 'kube-apiserver'
            ns_rt = self._storage_rt(('', 'namespaces'))
            for ns in ('default', 'kube-node-lease', 'kube-public', 'kube-system'):
                self.create(ns_rt, None, {'apiVersion': 'v1', 'kind': 'Namespace',
                                          'metadata': {'name': ns}}, boot)
            self._sys_create(('', 'services'), 'default', {
                'kind': 'Service', 'metadata': {'name': 'kubernetes', 'labels': {
                    'component': 'apiserver', 'provider': 'kubernetes'}},
                'spec': {'clusterIP': '10.96.0.1', 'ports': [
                    {'name': 'https', 'port': 443, 'protocol': 'TCP', 'targetPort': 6443}]}}, boot)
            self._sys_create(('', 'endpoints'), 'default', {
                'kind': 'Endpoints', 'metadata': {'name': 'kubernetes', 'labels': {
                    'endpointslice.kubernetes.io/skip-mirror': 'true'}},
                'subsets': [{'addresses': [{'ip': '172.18.0.2'}],
                             'ports': [{'name': 'https', 'port': 6443, 'protocol': 'TCP'}]}]},
                boot)
            self._sys_create(('discovery.k8s.io', 'endpointslices'), 'default', {
                'kind': 'EndpointSlice', 'metadata': {'name': 'kubernetes', 'labels': {
                    'kubernetes.io/service-name': 'kubernetes'}},
                'addressType': 'IPv4',
                'endpoints': [{'addresses': ['172.18.0.2'], 'conditions': {'ready': True}}],
                'ports': [{'name': 'https', 'port': 6443, 'protocol': 'TCP'}]}, boot)
            self._sys_create(('', 'nodes'), '', {
                'kind': 'Node', 'metadata': {'name': self.node_name, 'labels': {
                    'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': self.node_name,
                    'kubernetes.io/os': 'linux', 'node-role.kubernetes.io/control-plane': ''}},
                'spec': {'podCIDR': '10.244.0.0/24', 'podCIDRs': ['10.244.0.0/24']}}, 'kubelet')
            node = self.get_obj(('', 'nodes'), '', self.node_name)
            n = copy.deepcopy(node)
            n['status'] = {
                'addresses': [{'address': '172.18.0.2', 'type': 'InternalIP'},
                              {'address': self.node_name, 'type': 'Hostname'}],
                'allocatable': {'cpu': '4', 'memory': '8Gi', 'pods': '110'},
                'capacity': {'cpu': '4', 'memory': '8Gi', 'pods': '110'},
                'conditions': [{'type': 'Ready', 'status': 'True', 'reason': 'KubeletReady',
                                'message': 'kubelet is posting ready status',
                                'lastHeartbeatTime': now_ts(), 'lastTransitionTime': now_ts()}],
                'nodeInfo': {'architecture': 'amd64', 'containerRuntimeVersion': 'containerd://1.7.0',
                             'kernelVersion': '6.1.0', 'kubeletVersion': 'v1.32.0',
                             'operatingSystem': 'linux', 'osImage': 'emulated'}}
            self._sys_write(('', 'nodes'), node, n, 'kubelet', 'status')
            self._sys_create(('coordination.k8s.io', 'leases'), 'kube-node-lease', {
                'kind': 'Lease', 'metadata': {'name': self.node_name},
                'spec': {'holderIdentity': self.node_name, 'leaseDurationSeconds': 40,
                         'renewTime': now_ts().replace('Z', '.000000Z')}}, 'kubelet')
            for comp in ('kube-controller-manager', 'kube-scheduler'):
                self._sys_create(('coordination.k8s.io', 'leases'), 'kube-system', {
                    'kind': 'Lease', 'metadata': {'name': comp},
                    'spec': {'holderIdentity': '%s_%s' % (self.node_name, uuid.uuid4()),
                             'leaseDurationSeconds': 15, 'leaseTransitions': 0,
                             'acquireTime': now_ts().replace('Z', '.000000Z'),
                             'renewTime': now_ts().replace('Z', '.000000Z')}}, comp)
            # the scheduling bootstrap: the two system priority classes
            for name, value, what in (
                    ('system-node-critical', 2000001000, 'must not be moved from their current '
                     'node.'),
                    ('system-cluster-critical', 2000000000, 'must run in the cluster, but can be '
                     'moved to another node if necessary.')):
                self._sys_create(('scheduling.k8s.io', 'priorityclasses'), '', {
                    'kind': 'PriorityClass', 'metadata': {'name': name}, 'value': value,
                    'description': 'Used for system critical pods that ' + what}, boot)
            rb = {'kubernetes.io/bootstrapping': 'rbac-defaults'}
            an = {'rbac.authorization.kubernetes.io/autoupdate': 'true'}
            everything = [{'apiGroups': ['*'], 'resources': ['*'], 'verbs': ['*']},
                          {'nonResourceURLs': ['*'], 'verbs': ['*']}]
            read = ['get', 'list', 'watch']
            write = ['create', 'delete', 'deletecollection', 'patch', 'update']
            roles = {
                'cluster-admin': everything,
                'admin': [{'apiGroups': ['', 'apps', 'batch'], 'resources': ['*'],
                           'verbs': read + write},
                          {'apiGroups': ['rbac.authorization.k8s.io'],
                           'resources': ['roles', 'rolebindings'], 'verbs': read + write}],
                'edit': [{'apiGroups': ['', 'apps', 'batch'], 'resources': ['*'],
                          'verbs': read + write}],
                'view': [{'apiGroups': ['', 'apps', 'batch'], 'resources': ['*'], 'verbs': read}],
            }
            for name, rules in roles.items():
                labels = dict(rb)
                if name != 'cluster-admin':
                    labels['rbac.authorization.k8s.io/aggregate-to-%s' % {
                        'admin': 'edit', 'edit': 'view', 'view': 'view'}[name]] = 'true'
                self._sys_create(('rbac.authorization.k8s.io', 'clusterroles'), '', {
                    'kind': 'ClusterRole', 'apiVersion': 'rbac.authorization.k8s.io/v1',
                    'metadata': {'name': name, 'labels': labels, 'annotations': dict(an)},
                    'rules': rules}, boot)
            self._sys_create(('rbac.authorization.k8s.io', 'clusterrolebindings'), '', {
                'kind': 'ClusterRoleBinding', 'apiVersion': 'rbac.authorization.k8s.io/v1',
                'metadata': {'name': 'cluster-admin', 'labels': dict(rb), 'annotations': dict(an)},
                'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole',
                            'name': 'cluster-admin'},
                'subjects': [{'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'Group',
                              'name': 'system:masters'}]}, boot)
