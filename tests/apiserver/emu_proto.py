"""Decoding of Kubernetes protobuf request bodies, for the one client that sends them.

kubectl's imperative generators (`kubectl create namespace|configmap|secret|deployment|service|
job|cronjob|role|rolebinding|quota|pdb|ingress|serviceaccount ...`) use client-go typed clients,
which send `Content-Type: application/vnd.kubernetes.protobuf`. The real server decodes that;
this emulator decodes it to the JSON the same object would have had, and goes on in JSON
(responses are always JSON, which those clients accept). Only decoding, only for the kinds
in ROOTS, and only the spec side: status is never sent on create.

The wire format: b"k8s\x00" + runtime.Unknown{typeMeta{apiVersion=1, kind=2}=1, raw=2}, raw
being the object as a proto2 message of k8s.io/api/<group>/<version>/generated.proto.
PROTO_SCHEMA gives, per message, "<field number><json name>:<type>[*][!]" where the type is
s string, i integer, b bool, y bytes (base64 in JSON), ms/my/mq a map of strings/bytes/
quantities, q Quantity, n IntOrString, t Time, d Duration, M<Message>; * repeated; ! keep a
zero value (a pointer or a field without omitempty in Go, which JSON shows even when empty).
Fields not listed are skipped, so a newer client's extra fields do no harm. The field numbers
are those of the published k8s.io/api and k8s.io/apimachinery protobuf definitions.
"""
import base64
import time

PROTO_META = {
    'ObjectMeta': '1name:s 2generateName:s 3namespace:s 4selfLink:s 5uid:s 6resourceVersion:s '
                  '7generation:i 8creationTimestamp:t 9deletionTimestamp:t '
                  '10deletionGracePeriodSeconds:i! 11labels:ms 12annotations:ms '
                  '13ownerReferences:MOwnerReference* 14finalizers:s*',
    'OwnerReference': '5apiVersion:s! 1kind:s! 3name:s! 4uid:s! 6controller:b! '
                      '7blockOwnerDeletion:b!',
    'LabelSelector': '1matchLabels:ms 2matchExpressions:MLabelSelectorRequirement*',
    'LabelSelectorRequirement': '1key:s! 2operator:s! 3values:s*',
    # kubectl auth can-i / whoami (authorization.k8s.io/v1, authentication.k8s.io/v1)
    'SelfSubjectAccessReview': '1metadata:MObjectMeta 2spec:MSubjectAccessReviewSpec',
    'SubjectAccessReview': '1metadata:MObjectMeta 2spec:MSubjectAccessReviewSpec',
    'SubjectAccessReviewSpec': '1resourceAttributes:MResourceAttributes '
                               '2nonResourceAttributes:MNonResourceAttributes 3user:s 4groups:s* '
                               '6uid:s',
    'ResourceAttributes': '1namespace:s 2verb:s 3group:s 4version:s 5resource:s 6subresource:s '
                          '7name:s',
    'NonResourceAttributes': '1path:s 2verb:s',
    'SelfSubjectReview': '1metadata:MObjectMeta',
    'TokenReview': '1metadata:MObjectMeta 2spec:MTokenReviewSpec',
    'TokenReviewSpec': '1token:s 2audiences:s*',
}

PROTO_SCHEMA = {
    'Affinity': '1nodeAffinity:MNodeAffinity! 2podAffinity:MPodAffinity! '
                '3podAntiAffinity:MPodAntiAffinity!',
    'AggregationRule': '1clusterRoleSelectors:MLabelSelector*',
    'AppArmorProfile': '1type:s! 2localhostProfile:s!',
    'Capabilities': '1add:s* 2drop:s*',
    'ClientIPConfig': '1timeoutSeconds:i!',
    'ClusterRole': '1metadata:MObjectMeta 2rules:MPolicyRule*! '
                   '3aggregationRule:MAggregationRule!',
    'ClusterRoleBinding': '1metadata:MObjectMeta 2subjects:MSubject* 3roleRef:MRoleRef!',
    'ConfigMap': '1metadata:MObjectMeta 4immutable:b! 2data:ms 3binaryData:my',
    'ConfigMapEnvSource': '2optional:b!',
    'ConfigMapKeySelector': '2key:s! 3optional:b!',
    'Container': '1name:s! 2image:s 3command:s* 4args:s* 5workingDir:s 6ports:MContainerPort* '
                 '19envFrom:MEnvFromSource* 7env:MEnvVar* 8resources:MResourceRequirements '
                 '23resizePolicy:MContainerResizePolicy* 24restartPolicy:s! '
                 '25restartPolicyRules:MContainerRestartRule* 9volumeMounts:MVolumeMount* '
                 '21volumeDevices:MVolumeDevice* 10livenessProbe:MProbe! '
                 '11readinessProbe:MProbe! 22startupProbe:MProbe! 12lifecycle:MLifecycle! '
                 '13terminationMessagePath:s 20terminationMessagePolicy:s 14imagePullPolicy:s '
                 '15securityContext:MSecurityContext! 16stdin:b 17stdinOnce:b 18tty:b',
    'ContainerPort': '1name:s 2hostPort:i 3containerPort:i! 4protocol:s 5hostIP:s',
    'ContainerResizePolicy': '1resourceName:s! 2restartPolicy:s!',
    'ContainerRestartRule': '1action:s 2exitCodes:MContainerRestartRuleOnExitCodes!',
    'ContainerRestartRuleOnExitCodes': '1operator:s 2values:i*',
    'CronJob': '1metadata:MObjectMeta 2spec:MCronJobSpec',
    'CronJobSpec': '1schedule:s! 8timeZone:s! 2startingDeadlineSeconds:i! 3concurrencyPolicy:s '
                   '4suspend:b! 5jobTemplate:MJobTemplateSpec! 6successfulJobsHistoryLimit:i! '
                   '7failedJobsHistoryLimit:i!',
    'DaemonSet': '1metadata:MObjectMeta 2spec:MDaemonSetSpec',
    'DaemonSetSpec': '1selector:MLabelSelector! 2template:MPodTemplateSpec! '
                     '3updateStrategy:MDaemonSetUpdateStrategy 4minReadySeconds:i '
                     '6revisionHistoryLimit:i!',
    'DaemonSetUpdateStrategy': '1type:s 2rollingUpdate:MRollingUpdateDaemonSet!',
    'Deployment': '1metadata:MObjectMeta 2spec:MDeploymentSpec',
    'DeploymentSpec': '1replicas:i! 2selector:MLabelSelector! 3template:MPodTemplateSpec! '
                      '4strategy:MDeploymentStrategy 5minReadySeconds:i '
                      '6revisionHistoryLimit:i! 7paused:b 9progressDeadlineSeconds:i!',
    'DeploymentStrategy': '1type:s 2rollingUpdate:MRollingUpdateDeployment!',
    'EnvFromSource': '1prefix:s 2configMapRef:MConfigMapEnvSource! '
                     '3secretRef:MSecretEnvSource!',
    'EnvVar': '1name:s! 2value:s 3valueFrom:MEnvVarSource!',
    'EnvVarSource': '1fieldRef:MObjectFieldSelector! 2resourceFieldRef:MResourceFieldSelector! '
                    '3configMapKeyRef:MConfigMapKeySelector! 4secretKeyRef:MSecretKeySelector! '
                    '5fileKeyRef:MFileKeySelector!',
    'EphemeralContainer': '2targetContainerName:s',
    'EvictionResponder': '1name:s! 2priority:i!',
    'ExecAction': '1command:s*',
    'FileKeySelector': '1volumeName:s! 2path:s! 3key:s! 4optional:b!',
    'HTTPGetAction': '1path:s 2port:n! 3host:s 4scheme:s 5httpHeaders:MHTTPHeader* '
                     '6protocol:s!',
    'HTTPHeader': '1name:s! 2value:s!',
    'HostAlias': '1ip:s! 2hostnames:s*',
    'Ingress': '1metadata:MObjectMeta 2spec:MIngressSpec',
    'IngressBackend': '4service:MIngressServiceBackend! 3resource:MTypedLocalObjectReference!',
    'IngressRule': '1host:s',
    'IngressServiceBackend': '1name:s! 2port:MServiceBackendPort',
    'IngressSpec': '4ingressClassName:s! 1defaultBackend:MIngressBackend! 2tls:MIngressTLS* '
                   '3rules:MIngressRule*',
    'IngressTLS': '1hosts:s* 2secretName:s',
    'Job': '1metadata:MObjectMeta 2spec:MJobSpec',
    'JobSpec': '1parallelism:i! 2completions:i! 3activeDeadlineSeconds:i! '
               '11podFailurePolicy:MPodFailurePolicy! 16successPolicy:MSuccessPolicy! '
               '7backoffLimit:i! 12backoffLimitPerIndex:i! 13maxFailedIndexes:i! '
               '4selector:MLabelSelector! 5manualSelector:b! 6template:MPodTemplateSpec! '
               '8ttlSecondsAfterFinished:i! 9completionMode:s! 10suspend:b! '
               '14podReplacementPolicy:s! 15managedBy:s!',
    'JobTemplateSpec': '1metadata:MObjectMeta 2spec:MJobSpec',
    'Lifecycle': '1postStart:MLifecycleHandler! 2preStop:MLifecycleHandler! 3stopSignal:s!',
    'LifecycleHandler': '1exec:MExecAction! 2httpGet:MHTTPGetAction! '
                        '3tcpSocket:MTCPSocketAction! 4sleep:MSleepAction!',
    'LocalObjectReference': '1name:s',
    'Namespace': '1metadata:MObjectMeta 2spec:MNamespaceSpec',
    'NamespaceSpec': '1finalizers:s*',
    'NodeAffinity': '1requiredDuringSchedulingIgnoredDuringExecution:MNodeSelector! '
                    '2preferredDuringSchedulingIgnoredDuringExecution:MPreferredSchedulingTerm*',
    'NodeSelector': '1nodeSelectorTerms:MNodeSelectorTerm*!',
    'NodeSelectorRequirement': '1key:s! 2operator:s! 3values:s*',
    'NodeSelectorTerm': '1matchExpressions:MNodeSelectorRequirement* '
                        '2matchFields:MNodeSelectorRequirement*',
    'ObjectFieldSelector': '1apiVersion:s 2fieldPath:s!',
    'ObjectReference': '1kind:s 2namespace:s 3name:s 4uid:s 5apiVersion:s 6resourceVersion:s '
                       '7fieldPath:s',
    'PersistentVolumeClaim': '1metadata:MObjectMeta 2spec:MPersistentVolumeClaimSpec',
    'PersistentVolumeClaimSpec': '1accessModes:s* 4selector:MLabelSelector! '
                                 '2resources:MVolumeResourceRequirements 3volumeName:s '
                                 '5storageClassName:s! 6volumeMode:s! '
                                 '7dataSource:MTypedLocalObjectReference! '
                                 '8dataSourceRef:MTypedObjectReference! '
                                 '9volumeAttributesClassName:s!',
    'Pod': '1metadata:MObjectMeta 2spec:MPodSpec',
    'PodAffinity': '1requiredDuringSchedulingIgnoredDuringExecution:MPodAffinityTerm* '
                   '2preferredDuringSchedulingIgnoredDuringExecution:MWeightedPodAffinityTerm*',
    'PodAffinityTerm': '1labelSelector:MLabelSelector! 2namespaces:s* 3topologyKey:s! '
                       '4namespaceSelector:MLabelSelector! 5matchLabelKeys:s* '
                       '6mismatchLabelKeys:s*',
    'PodAntiAffinity': '1requiredDuringSchedulingIgnoredDuringExecution:MPodAffinityTerm* '
                       '2preferredDuringSchedulingIgnoredDuringExecution:MWeightedPodAffinityTerm*',
    'PodDNSConfig': '1nameservers:s* 2searches:s* 3options:MPodDNSConfigOption*',
    'PodDNSConfigOption': '1name:s 2value:s!',
    'PodDisruptionBudget': '1metadata:MObjectMeta 2spec:MPodDisruptionBudgetSpec',
    'PodDisruptionBudgetSpec': '1minAvailable:n! 2selector:MLabelSelector! 3maxUnavailable:n! '
                               '4unhealthyPodEvictionPolicy:s!',
    'PodFailurePolicy': '1rules:MPodFailurePolicyRule*!',
    'PodFailurePolicyOnExitCodesRequirement': '1containerName:s! 2operator:s! 3values:i*!',
    'PodFailurePolicyOnPodConditionsPattern': '1type:s!',
    'PodFailurePolicyRule': '1action:s! 2onExitCodes:MPodFailurePolicyOnExitCodesRequirement! '
                            '3onPodConditions:MPodFailurePolicyOnPodConditionsPattern*',
    'PodOS': '1name:s!',
    'PodReadinessGate': '1conditionType:s!',
    'PodResourceClaim': '3resourceClaimName:s! 4resourceClaimTemplateName:s!',
    'PodSchedulingGate': '1name:s!',
    'PodSchedulingGroup': '1podGroupName:s!',
    'PodSecurityContext': '1seLinuxOptions:MSELinuxOptions! '
                          '8windowsOptions:MWindowsSecurityContextOptions! 2runAsUser:i! '
                          '6runAsGroup:i! 3runAsNonRoot:b! 4supplementalGroups:i* '
                          '12supplementalGroupsPolicy:s! 5fsGroup:i! 7sysctls:MSysctl* '
                          '9fsGroupChangePolicy:s! 10seccompProfile:MSeccompProfile! '
                          '11appArmorProfile:MAppArmorProfile! 13seLinuxChangePolicy:s!',
    'PodSpec': '1volumes:MVolume* 20initContainers:MContainer* 2containers:MContainer*! '
               '34ephemeralContainers:MEphemeralContainer* 3restartPolicy:s '
               '4terminationGracePeriodSeconds:i! 5activeDeadlineSeconds:i! 6dnsPolicy:s '
               '7nodeSelector:ms 8serviceAccountName:s 9serviceAccount:s '
               '21automountServiceAccountToken:b! 10nodeName:s 11hostNetwork:b 12hostPID:b '
               '13hostIPC:b 27shareProcessNamespace:b! 14securityContext:MPodSecurityContext! '
               '15imagePullSecrets:MLocalObjectReference* 16hostname:s 17subdomain:s '
               '18affinity:MAffinity! 19schedulerName:s 22tolerations:MToleration* '
               '23hostAliases:MHostAlias* 24priorityClassName:s 25priority:i! '
               '26dnsConfig:MPodDNSConfig! 28readinessGates:MPodReadinessGate* '
               '29runtimeClassName:s! 30enableServiceLinks:b! 31preemptionPolicy:s! '
               '32overhead:mq 33topologySpreadConstraints:MTopologySpreadConstraint* '
               '35setHostnameAsFQDN:b! 36os:MPodOS! 37hostUsers:b! '
               '38schedulingGates:MPodSchedulingGate* 39resourceClaims:MPodResourceClaim* '
               '40resources:MResourceRequirements! 41hostnameOverride:s! '
               '43schedulingGroup:MPodSchedulingGroup! '
               '44evictionResponders:MEvictionResponder*',
    'PodTemplateSpec': '1metadata:MObjectMeta 2spec:MPodSpec',
    'PolicyRule': '1verbs:s*! 2apiGroups:s* 3resources:s* 4resourceNames:s* '
                  '5nonResourceURLs:s*',
    'PreferredSchedulingTerm': '1weight:i! 2preference:MNodeSelectorTerm!',
    'Probe': '2initialDelaySeconds:i 3timeoutSeconds:i 4periodSeconds:i 5successThreshold:i '
             '6failureThreshold:i 7terminationGracePeriodSeconds:i!',
    'ReplicaSet': '1metadata:MObjectMeta 2spec:MReplicaSetSpec',
    'ReplicaSetSpec': '1replicas:i! 4minReadySeconds:i 2selector:MLabelSelector! '
                      '3template:MPodTemplateSpec',
    'ResourceClaim': '1name:s! 2request:s',
    'ResourceFieldSelector': '1containerName:s 2resource:s! 3divisor:q',
    'ResourceQuota': '1metadata:MObjectMeta 2spec:MResourceQuotaSpec',
    'ResourceQuotaSpec': '1hard:mq 2scopes:s* 3scopeSelector:MScopeSelector!',
    'ResourceRequirements': '1limits:mq 2requests:mq 3claims:MResourceClaim*',
    'Role': '1metadata:MObjectMeta 2rules:MPolicyRule*!',
    'RoleBinding': '1metadata:MObjectMeta 2subjects:MSubject* 3roleRef:MRoleRef!',
    'RoleRef': '1apiGroup:s! 2kind:s! 3name:s!',
    'RollingUpdateDaemonSet': '1maxUnavailable:n! 2maxSurge:n!',
    'RollingUpdateDeployment': '1maxUnavailable:n! 2maxSurge:n!',
    'RollingUpdateStatefulSetStrategy': '1partition:i! 2maxUnavailable:n!',
    'SELinuxOptions': '1user:s 2role:s 3type:s 4level:s',
    'ScopeSelector': '1matchExpressions:MScopedResourceSelectorRequirement*',
    'ScopedResourceSelectorRequirement': '1scopeName:s! 2operator:s! 3values:s*',
    'SeccompProfile': '1type:s! 2localhostProfile:s!',
    'Secret': '1metadata:MObjectMeta 5immutable:b! 2data:my 4stringData:ms 3type:s',
    'SecretEnvSource': '2optional:b!',
    'SecretKeySelector': '2key:s! 3optional:b!',
    'SecurityContext': '1capabilities:MCapabilities! 2privileged:b! '
                       '3seLinuxOptions:MSELinuxOptions! '
                       '10windowsOptions:MWindowsSecurityContextOptions! 4runAsUser:i! '
                       '8runAsGroup:i! 5runAsNonRoot:b! 6readOnlyRootFilesystem:b! '
                       '7allowPrivilegeEscalation:b! 9procMount:s! '
                       '11seccompProfile:MSeccompProfile! 12appArmorProfile:MAppArmorProfile!',
    'Service': '1metadata:MObjectMeta 2spec:MServiceSpec',
    'ServiceAccount': '1metadata:MObjectMeta 2secrets:MObjectReference* '
                      '3imagePullSecrets:MLocalObjectReference* '
                      '4automountServiceAccountToken:b!',
    'ServiceBackendPort': '1name:s 2number:i',
    'ServicePort': '1name:s 2protocol:s 6appProtocol:s! 3port:i! 4targetPort:n 5nodePort:i',
    'ServiceSpec': '1ports:MServicePort* 2selector:ms 3clusterIP:s 18clusterIPs:s* 4type:s '
                   '5externalIPs:s* 7sessionAffinity:s 8loadBalancerIP:s '
                   '9loadBalancerSourceRanges:s* 10externalName:s 11externalTrafficPolicy:s '
                   '12healthCheckNodePort:i 13publishNotReadyAddresses:b '
                   '14sessionAffinityConfig:MSessionAffinityConfig! 19ipFamilies:s* '
                   '17ipFamilyPolicy:s! 20allocateLoadBalancerNodePorts:b! '
                   '21loadBalancerClass:s! 22internalTrafficPolicy:s! 23trafficDistribution:s!',
    'SessionAffinityConfig': '1clientIP:MClientIPConfig!',
    'SleepAction': '1seconds:i!',
    'StatefulSet': '1metadata:MObjectMeta 2spec:MStatefulSetSpec',
    'StatefulSetOrdinals': '1start:i!',
    'StatefulSetPersistentVolumeClaimRetentionPolicy': '1whenDeleted:s 2whenScaled:s',
    'StatefulSetSpec': '1replicas:i! 2selector:MLabelSelector! 3template:MPodTemplateSpec! '
                       '4volumeClaimTemplates:MPersistentVolumeClaim* 5serviceName:s! '
                       '6podManagementPolicy:s 7updateStrategy:MStatefulSetUpdateStrategy '
                       '8revisionHistoryLimit:i! 9minReadySeconds:i '
                       '10persistentVolumeClaimRetentionPolicy:MStatefulSetPersistentVolumeClaimRetentionPolicy! '
                       '11ordinals:MStatefulSetOrdinals!',
    'StatefulSetUpdateStrategy': '1type:s 2rollingUpdate:MRollingUpdateStatefulSetStrategy!',
    'Subject': '1kind:s! 2apiGroup:s 3name:s! 4namespace:s',
    'SuccessPolicy': '1rules:MSuccessPolicyRule*!',
    'SuccessPolicyRule': '1succeededIndexes:s! 2succeededCount:i!',
    'Sysctl': '1name:s! 2value:s!',
    'TCPSocketAction': '1port:n! 2host:s',
    'Toleration': '1key:s 2operator:s 3value:s 4effect:s 5tolerationSeconds:i!',
    'TopologySpreadConstraint': '1maxSkew:i! 2topologyKey:s! 3whenUnsatisfiable:s! '
                                '4labelSelector:MLabelSelector! 5minDomains:i! '
                                '6nodeAffinityPolicy:s! 7nodeTaintsPolicy:s! '
                                '8matchLabelKeys:s*',
    'TypedLocalObjectReference': '1apiGroup:s! 2kind:s! 3name:s!',
    'TypedObjectReference': '1apiGroup:s! 2kind:s! 3name:s! 4namespace:s!',
    'Volume': '1name:s!',
    'VolumeDevice': '1name:s! 2devicePath:s!',
    'VolumeMount': '1name:s! 2readOnly:b 7recursiveReadOnly:s! 3mountPath:s! 4subPath:s '
                   '5mountPropagation:s! 6subPathExpr:s 8bindMountOptions:s*',
    'VolumeResourceRequirements': '1limits:mq 2requests:mq',
    'WeightedPodAffinityTerm': '1weight:i! 2podAffinityTerm:MPodAffinityTerm!',
    'WindowsSecurityContextOptions': '1gmsaCredentialSpecName:s! 2gmsaCredentialSpec:s! '
                                     '3runAsUserName:s! 4hostProcess:b!',
}


# The kinds a body may hold.
ROOTS = {'Namespace', 'ConfigMap', 'Secret', 'ServiceAccount', 'Service', 'Pod', 'ResourceQuota',
         'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Role',
         'RoleBinding', 'ClusterRole', 'ClusterRoleBinding', 'PodDisruptionBudget', 'Ingress',
         'SelfSubjectAccessReview', 'SubjectAccessReview', 'SelfSubjectReview', 'TokenReview'}
_parsed = {}


def _schema(name):
    if name not in _parsed:
        fields = {}
        for spec in (PROTO_META.get(name) or PROTO_SCHEMA.get(name) or '').split():
            i = 0
            while spec[i].isdigit():
                i += 1
            jname, t = spec[i:].split(':', 1)
            fields[int(spec[:i])] = (jname, t.rstrip('*!'), '*' in t, '!' in t)
        _parsed[name] = fields
    return _parsed[name]


def _varint(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7f) << shift
        if b < 0x80:
            return v, i
        shift += 7


def _fields(buf):
    """-> [(number, value)]: value an int for varints, bytes for length-delimited."""
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 2:
            n, i = _varint(buf, i)
            v, i = bytes(buf[i:i + n]), i + n
        elif wt == 1:
            v, i = int.from_bytes(buf[i:i + 8], 'little'), i + 8
        elif wt == 5:
            v, i = int.from_bytes(buf[i:i + 4], 'little'), i + 4
        else:
            raise ValueError('unsupported protobuf wire type %d' % wt)
        out.append((num, v))
    return out


def _signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def _duration(ns):
    s = ns // 10**9
    h, m, s = s // 3600, s // 60 % 60, s % 60
    return (('%dh' % h) if h else '') + (('%dm' % m) if h or m else '') + '%ds' % s


def _value(t, v):
    if t == 's':
        return v.decode()
    if t == 'i':
        return _signed(v)
    if t == 'b':
        return bool(v)
    if t == 'y':
        return base64.b64encode(v).decode()
    if t == 'q':
        return dict(_fields(v)).get(1, b'').decode()
    if t == 'n':
        f = dict(_fields(v))
        return f.get(3, b'').decode() if f.get(1) == 1 else _signed(f.get(2, 0))
    if t == 't':
        secs = _signed(dict(_fields(v)).get(1, 0))
        return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(secs)) if secs else None
    if t == 'd':
        return _duration(_signed(dict(_fields(v)).get(1, 0)))
    if t in ('ms', 'my', 'mq'):
        f = dict(_fields(v))
        conv = {'ms': lambda x: x.decode(), 'my': lambda x: base64.b64encode(x).decode(),
                'mq': lambda x: _value('q', x)}[t]
        return f.get(1, b'').decode(), conv(f.get(2, b''))
    if t.startswith('M'):
        return decode_message(v, t[1:])
    raise ValueError('unknown field type %s' % t)


def decode_message(buf, name):
    schema, obj = _schema(name), {}
    for num, v in _fields(buf):
        if num not in schema:
            continue
        jname, t, rep, keep = schema[num]
        val = _value(t, v)
        if t in ('ms', 'my', 'mq'):
            obj.setdefault(jname, {})[val[0]] = val[1]
        elif rep:
            obj.setdefault(jname, []).append(val)
        elif val is None or (not keep and not t.startswith('M') and val in ('', 0, False)):
            obj.pop(jname, None)
        else:
            obj[jname] = val
    return obj


def decode(body):
    """A protobuf request body -> the object as JSON would carry it. ValueError when it is
    not one of the kinds in ROOTS."""
    if not body.startswith(b'k8s\x00'):
        raise ValueError('not a Kubernetes protobuf envelope')
    env = dict(_fields(body[4:]))
    tm = dict(_fields(env.get(1, b'')))
    api_version, kind = tm.get(1, b'').decode(), tm.get(2, b'').decode()
    if kind not in ROOTS:
        raise ValueError('no protobuf decoding for kind %r' % kind)
    obj = {'apiVersion': api_version, 'kind': kind}
    obj.update(decode_message(env.get(2, b''), kind))
    return obj
