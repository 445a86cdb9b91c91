"""Defaulting and validation of the kinds beyond the core workloads, as the real server's
SetDefaults_* functions and registry strategies do them, where it shows when the object is
read back: admission (webhook configurations, ValidatingAdmissionPolicy and its binding),
autoscaling/v2, networking (IngressClass, NetworkPolicy, Ingress), scheduling, storage
(StorageClass, CSIDriver, PersistentVolume, PersistentVolumeClaim), flowcontrol, apiregistration,
ReplicationController, and the PersistentVolumeClaim templates of a StatefulSet.

Each function changes the object it is given in place; none reads the store but through the
`lookup(group, plural, namespace, name)` it is handed, so the module holds no state.
"""
import copy
import json

ADMISSION = 'admissionregistration.k8s.io'


def _inval(field, value, why):
    return (field, 'Invalid value: %s: %s' % (json.dumps(value), why), 'FieldValueInvalid')


def _required(field, why=None):
    return (field, 'Required value' + (': ' + why if why else ''), 'FieldValueRequired')


# --- admission ------------------------------------------------------------------------------

def _rules(rules):
    for r in rules or []:
        if isinstance(r, dict):
            r.setdefault('scope', '*')


def _match_resources(mr):
    """SetDefaults_MatchResources (and the Rule defaults of its rules)."""
    if not isinstance(mr, dict):
        return
    mr.setdefault('matchPolicy', 'Equivalent')
    mr.setdefault('namespaceSelector', {})
    mr.setdefault('objectSelector', {})
    _rules(mr.get('resourceRules'))
    _rules(mr.get('excludeResourceRules'))


def _webhooks(obj, mutating):
    for w in obj.get('webhooks') or []:
        if not isinstance(w, dict):
            continue
        w.setdefault('failurePolicy', 'Fail')
        w.setdefault('matchPolicy', 'Equivalent')
        w.setdefault('namespaceSelector', {})
        w.setdefault('objectSelector', {})
        w.setdefault('timeoutSeconds', 10)
        if mutating:
            w.setdefault('reinvocationPolicy', 'Never')
        _rules(w.get('rules'))
        svc = (w.get('clientConfig') or {}).get('service')
        if isinstance(svc, dict):
            svc.setdefault('port', 443)


def _validate_webhooks(obj):
    """admissionregistration/v1 makes sideEffects and admissionReviewVersions required."""
    causes = []
    names = set()
    for i, w in enumerate(obj.get('webhooks') or []):
        p = 'webhooks[%d]' % i
        if not w.get('name'):
            causes.append(_required(p + '.name'))
        elif w['name'] in names:
            causes.append((p + '.name', 'Duplicate value: %s' % json.dumps(w['name']),
                           'FieldValueDuplicate'))
        names.add(w.get('name'))
        if w.get('sideEffects') not in ('None', 'NoneOnDryRun'):
            if w.get('sideEffects') is None:
                causes.append(_required(p + '.sideEffects',
                                        'must specify one of None, NoneOnDryRun'))
            else:
                causes.append((p + '.sideEffects', 'Unsupported value: %s: supported values: '
                               '"None", "NoneOnDryRun"' % json.dumps(w['sideEffects']),
                               'FieldValueNotSupported'))
        if not w.get('admissionReviewVersions'):
            causes.append(_required(p + '.admissionReviewVersions',
                                    'must specify one of v1, v1beta1'))
        cc = w.get('clientConfig') or {}
        if bool(cc.get('url')) == bool(cc.get('service')):
            causes.append((p + '.clientConfig', 'Required value: exactly one of url or service '
                           'is required', 'FieldValueRequired'))
    return causes


# --- autoscaling/v2 -------------------------------------------------------------------------

_SCALE_UP = {'stabilizationWindowSeconds': 0, 'selectPolicy': 'Max',
             'policies': [{'type': 'Pods', 'value': 4, 'periodSeconds': 15},
                          {'type': 'Percent', 'value': 100, 'periodSeconds': 15}]}
# the scale-down window is left unset: the controller's --horizontal-pod-autoscaler-
# downscale-stabilization flag applies then
_SCALE_DOWN = {'selectPolicy': 'Max',
               'policies': [{'type': 'Percent', 'value': 100, 'periodSeconds': 15}]}


def _scaling_rules(rules, default):
    out = copy.deepcopy(default)
    for k in ('selectPolicy', 'stabilizationWindowSeconds', 'policies'):
        if isinstance(rules, dict) and rules.get(k) is not None:
            out[k] = rules[k]
    return out


def _hpa(spec):
    spec.setdefault('minReplicas', 1)
    if not spec.get('metrics'):
        spec['metrics'] = [{'type': 'Resource', 'resource': {
            'name': 'cpu', 'target': {'type': 'Utilization', 'averageUtilization': 80}}}]
    b = spec.get('behavior')
    if isinstance(b, dict):
        b['scaleUp'] = _scaling_rules(b.get('scaleUp'), _SCALE_UP)
        b['scaleDown'] = _scaling_rules(b.get('scaleDown'), _SCALE_DOWN)


def _validate_hpa(spec):
    causes = []
    ref = spec.get('scaleTargetRef') or {}
    if not ref.get('kind'):
        causes.append(_required('spec.scaleTargetRef.kind'))
    if not ref.get('name'):
        causes.append(_required('spec.scaleTargetRef.name'))
    lo, hi = spec.get('minReplicas', 1), spec.get('maxReplicas')
    if not isinstance(hi, int) or hi < 1:
        causes.append(_inval('spec.maxReplicas', hi, 'must be greater than or equal to 1'))
    elif isinstance(lo, int) and lo > hi:
        causes.append(_inval('spec.maxReplicas', hi, 'must be greater than or equal to '
                             '`minReplicas`'))
    if isinstance(lo, int) and lo < 1:
        causes.append(_inval('spec.minReplicas', lo, 'must be greater than or equal to 1'))
    return causes


# --- networking -----------------------------------------------------------------------------

def _network_policy(spec):
    if not spec.get('policyTypes'):
        spec['policyTypes'] = ['Ingress'] + (['Egress'] if spec.get('egress') else [])
    for direction in ('ingress', 'egress'):
        for rule in spec.get(direction) or []:
            for p in (rule or {}).get('ports') or []:
                if isinstance(p, dict):
                    p.setdefault('protocol', 'TCP')


# --- storage --------------------------------------------------------------------------------

def _pvc_spec(spec):
    if isinstance(spec, dict):
        spec.setdefault('volumeMode', 'Filesystem')


def volume_claim_templates(spec, order_meta):
    """A StatefulSet's templates are stored as full PersistentVolumeClaims: the real server
    serialises them with kind, apiVersion, the null creationTimestamp of an unset ObjectMeta
    and the status phase its defaulting gives every claim. order_meta puts ObjectMeta's keys
    in the order of the Go struct."""
    for i, t in enumerate(spec.get('volumeClaimTemplates') or []):
        if not isinstance(t, dict):
            continue
        out = {'apiVersion': t.get('apiVersion', 'v1'),
               'kind': t.get('kind', 'PersistentVolumeClaim')}
        meta = dict(t.get('metadata') or {})
        meta.setdefault('creationTimestamp', None)
        out['metadata'] = order_meta(meta)
        out['spec'] = t.get('spec') or {}
        _pvc_spec(out['spec'])
        out['status'] = t.get('status') or {'phase': 'Pending'}
        for k, v in t.items():
            out.setdefault(k, v)
        spec['volumeClaimTemplates'][i] = out


# --- ReplicationController ------------------------------------------------------------------

def _replication_controller(obj):
    """SetDefaults_ReplicationController: the selector and labels come from the template's."""
    spec = obj.get('spec')
    if not isinstance(spec, dict):
        return
    labels = ((spec.get('template') or {}).get('metadata') or {}).get('labels') or {}
    if labels:
        if not spec.get('selector'):
            spec['selector'] = dict(labels)
        if not obj['metadata'].get('labels'):
            obj['metadata']['labels'] = dict(labels)
    spec.setdefault('replicas', 1)


def _validate_rc(spec):
    causes = []
    sel = spec.get('selector') or {}
    tmpl = spec.get('template')
    if not sel:
        causes.append(_required('spec.selector'))
    if not isinstance(tmpl, dict):
        causes.append(_required('spec.template'))
        return causes
    labels = (tmpl.get('metadata') or {}).get('labels') or {}
    if sel and any(labels.get(k) != v for k, v in sel.items()):
        causes.append(_inval('spec.template.metadata.labels', labels,
                             '`selector` does not match template `labels`'))
    return causes


# --- the entry points -----------------------------------------------------------------------

def apply_defaults(rt, obj, old):
    """Defaults of the kinds above; returns False for a kind this module does not handle."""
    g, k = rt.group, rt.kind
    spec = obj.get('spec')
    if g == ADMISSION and k in ('MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'):
        _webhooks(obj, k.startswith('Mutating'))
    elif g == ADMISSION and k == 'ValidatingAdmissionPolicy' and isinstance(spec, dict):
        spec.setdefault('failurePolicy', 'Fail')
        _match_resources(spec.get('matchConstraints'))
    elif g == ADMISSION and k == 'ValidatingAdmissionPolicyBinding' and isinstance(spec, dict):
        _match_resources(spec.get('matchResources'))
    elif g == 'autoscaling' and k == 'HorizontalPodAutoscaler' and isinstance(spec, dict):
        _hpa(spec)
    elif g == 'networking.k8s.io' and k == 'NetworkPolicy' and isinstance(spec, dict):
        _network_policy(spec)
    elif g == 'networking.k8s.io' and k == 'IngressClass' and isinstance(spec, dict):
        params = spec.get('parameters')
        if isinstance(params, dict):
            params.setdefault('scope', 'Cluster')
    elif g == 'networking.k8s.io' and k == 'Ingress':
        obj.setdefault('status', {}).setdefault('loadBalancer', {})
    elif g == 'scheduling.k8s.io' and k == 'PriorityClass':
        obj.setdefault('preemptionPolicy', 'PreemptLowerPriority')
    elif g == 'storage.k8s.io' and k == 'StorageClass':
        obj.setdefault('reclaimPolicy', 'Delete')
        obj.setdefault('volumeBindingMode', 'Immediate')
    elif g == 'storage.k8s.io' and k == 'CSIDriver' and isinstance(spec, dict):
        for f, v in (('attachRequired', True), ('podInfoOnMount', False),
                     ('volumeLifecycleModes', ['Persistent']), ('storageCapacity', False),
                     ('fsGroupPolicy', 'ReadWriteOnceWithFSType'), ('requiresRepublish', False),
                     ('seLinuxMount', False)):
            spec.setdefault(f, copy.deepcopy(v))
    elif g == 'apiregistration.k8s.io' and k == 'APIService' and isinstance(spec, dict):
        if isinstance(spec.get('service'), dict):
            spec['service'].setdefault('port', 443)
    elif g == 'flowcontrol.apiserver.k8s.io' and k == 'FlowSchema' and isinstance(spec, dict):
        spec.setdefault('matchingPrecedence', 1000)
    elif g == '' and k == 'PersistentVolumeClaim':
        _pvc_spec(spec)
        obj.setdefault('status', {}).setdefault('phase', 'Pending')
    elif g == '' and k == 'PersistentVolume':
        if isinstance(spec, dict):
            spec.setdefault('persistentVolumeReclaimPolicy', 'Retain')
            spec.setdefault('volumeMode', 'Filesystem')
        obj.setdefault('status', {}).setdefault('phase', 'Pending')
    elif g == '' and k == 'ReplicationController':
        _replication_controller(obj)
    else:
        return False
    return True


def validate(rt, obj, old):
    """-> causes, for the kinds above ([] for the others)."""
    g, k = rt.group, rt.kind
    spec = obj.get('spec') or {}
    if g == ADMISSION and k in ('MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'):
        return _validate_webhooks(obj)
    if g == 'autoscaling' and k == 'HorizontalPodAutoscaler':
        return _validate_hpa(spec)
    if g == '' and k == 'ReplicationController':
        return _validate_rc(spec)
    if g == 'scheduling.k8s.io' and k == 'PriorityClass':
        v = obj.get('value')
        if not isinstance(v, int) or isinstance(v, bool):
            return [_required('value')]
        if v > 1000000000 and not obj['metadata'].get('name', '').startswith('system-'):
            return [_inval('value', v, 'maximum allowed value of a user defined priority is '
                           '1000000000')]
        if old and old.get('value') != v:
            return [('value', 'Forbidden: may not be changed in an update.',
                     'FieldValueForbidden')]
    if g == 'apiregistration.k8s.io' and k == 'APIService':
        want = '%s.%s' % (spec.get('version'), spec.get('group'))
        if obj['metadata'].get('name') != want:
            return [_inval('metadata.name', obj['metadata'].get('name'), 'must be %s' % want)]
    return []


def apiservice_status(svc_ref, lookup, now):
    """The Available condition kube-aggregator's availability controller gives an APIService:
    a local one (no service) is always available; one backed by a Service is not, since
    nothing here serves its group (the Service is missing, or has no endpoints)."""
    if not svc_ref:
        return {'type': 'Available', 'status': 'True', 'lastTransitionTime': now,
                'reason': 'Local', 'message': 'Local APIServices are always available'}
    ns, name, port = svc_ref.get('namespace'), svc_ref.get('name'), svc_ref.get('port', 443)
    svc = lookup('', 'services', ns, name)
    if svc is None:
        reason = 'ServiceNotFound'
        msg = 'service/%s in "%s" is not present' % (name, ns)
    else:
        ports = [p for p in (svc.get('spec') or {}).get('ports') or [] if p.get('port') == port]
        if not ports:
            reason = 'ServicePortError'
            msg = 'service/%s in "%s" is not listening on port %d' % (name, ns, port)
        else:
            reason = 'MissingEndpoints'
            msg = 'endpoints for service/%s in "%s" have no addresses with port name "%s"' % (
                name, ns, ports[0].get('name', ''))
    return {'type': 'Available', 'status': 'False', 'lastTransitionTime': now,
            'reason': reason, 'message': msg}
