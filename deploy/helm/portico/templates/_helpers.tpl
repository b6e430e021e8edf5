{{/*
Shared helpers. Component keys (values) and app names (images, RBAC files, object names):
  servicelbController -> servicelb-controller   ccm -> ccm
  netpolAgent -> netpol-agent                    addonManager -> addon-manager
*/}}

{{- define "portico.labels" -}}
app.kubernetes.io/part-of: portico
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.global.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of one component's objects. Call with (dict "ctx" $ "app" "netpol-agent"). */}}
{{- define "portico.componentLabels" -}}
{{ include "portico.labels" .ctx }}
{{ include "portico.selectorLabels" . }}
{{- end -}}

{{/* Selector labels of one component's pods (immutable in Deployments and DaemonSets). */}}
{{- define "portico.selectorLabels" -}}
app.kubernetes.io/name: {{ .app }}
app.kubernetes.io/component: {{ .app }}
{{- end -}}

{{/*
An image reference: <registry>/<repository>:<tag>, global.imageRegistry replacing the registry, the
tag defaulting to the chart's appVersion (what tools/images/build-all tags).
Call with (dict "ctx" $ "image" .Values.x.image).
*/}}
{{- define "portico.image" -}}
{{- $registry := .ctx.Values.global.imageRegistry | default .image.registry -}}
{{- $tag := .image.tag | default .ctx.Chart.AppVersion -}}
{{- if $registry -}}
{{ printf "%s/%s:%s" $registry .image.repository $tag }}
{{- else -}}
{{ printf "%s:%s" .image.repository $tag }}
{{- end -}}
{{- end -}}

{{/* The component hosting ServiceLB: "servicelb-controller", "ccm" or "" (none). */}}
{{- define "portico.serviceLBHost" -}}
{{- $v := .Values -}}
{{- if and $v.servicelbController.enabled $v.ccm.enabled $v.ccm.serviceLB.enabled -}}
{{- fail "ServiceLB must have exactly one host: servicelbController.enabled=true and ccm.serviceLB.enabled=true (with ccm.enabled=true) would run two ServiceLB controllers fighting over the same Services and svclb DaemonSets. Set servicelbController.enabled=false to host ServiceLB in the ccm, or ccm.serviceLB.enabled=false to keep the servicelb-controller." -}}
{{- else if $v.servicelbController.enabled -}}
servicelb-controller
{{- else if and $v.ccm.enabled $v.ccm.serviceLB.enabled -}}
ccm
{{- end -}}
{{- end -}}

{{/*
Pod securityContext and container securityContext for the controllers that need no privilege
(servicelb-controller, ccm, addon-manager): non-root, read-only root, no capabilities. The images
run as 65532 too; runAsNonRoot makes the kubelet refuse an image that would run as root.
*/}}
{{- define "portico.restrictedPodSecurity" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "portico.restrictedContainerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Downward-API environment every component gets. */}}
{{- define "portico.downwardEnv" -}}
- name: POD_NAME
  valueFrom: { fieldRef: { fieldPath: metadata.name } }
- name: POD_NAMESPACE
  valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
- name: NODE_NAME
  valueFrom: { fieldRef: { fieldPath: spec.nodeName } }
{{- end -}}

{{/*
The scheduling fields of a pod spec. Call with the component's values.
*/}}
{{- define "portico.scheduling" -}}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "portico.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Probes on the metrics port (every long-running component serves /healthz and /readyz). */}}
{{- define "portico.probes" -}}
livenessProbe:
  httpGet: { path: /healthz, port: metrics }
  initialDelaySeconds: 10
  periodSeconds: 10
  failureThreshold: 6
readinessProbe:
  httpGet: { path: /readyz, port: metrics }
  periodSeconds: 5
{{- end -}}

{{/*
RBAC of one component, rendered from files/rbac/<app>.yaml: a byte-for-byte copy of
apps/<app>/rbac.yaml (deploy/src/sync-chart-files.ts writes it; deploy/src/chart-files.test.ts fails
when the two differ, and the golden tests prove the rendered rules equal the app's). The app's file
is written for the defaults (every namespace kube-system); here only namespaces move:
  - every namespaced object goes to the release namespace, except the objects named in `lbObjects`
    ("Kind/name"), which go to the LB namespace;
  - ServiceAccount subjects point at the release namespace;
  - a rule on `namespaces` limited to resourceName kube-system is limited to the LB namespace instead;
  - a rule on `leases` limited to k3s-cloud-controller-manager (ccm's Lease, named after the
    program) follows serviceLB.program.
Objects named in `skipObjects` ("Kind/name") are left out (ccm's hosted-ServiceLB part when ccm
does not host ServiceLB); objects named in `fixedObjects` keep the namespace the file gives them
(the addons cleanup's Role: Addons always live in kube-system).
With `phase` (an uninstall hook's RBAC, files/rbac/<hook>.yaml from apps/<app>/rbac-cleanup*.yaml),
every object also gets the hook annotations of that phase with weight -10 (before the hook's Jobs).
Call with (dict "ctx" $ "app" "servicelb-controller" "lbObjects" (list "Role/x" ...) "skipObjects" (list ...)
["fixedObjects" (list ...)] ["phase" "post-delete"]).
*/}}
{{- define "portico.rbac" -}}
{{- $ctx := .ctx -}}
{{- $path := printf "files/rbac/%s.yaml" .app -}}
{{- $raw := $ctx.Files.Get $path -}}
{{- if not $raw -}}
{{- fail (printf "%s is missing from the chart: run `node --import tsx deploy/src/sync-chart-files.ts` (it copies apps/%s/rbac.yaml)" $path .app) -}}
{{- end -}}
{{- $lbObjects := .lbObjects | default list -}}
{{- $skipObjects := .skipObjects | default list -}}
{{- $fixedObjects := .fixedObjects | default list -}}
{{- $lbNs := $ctx.Values.serviceLB.namespace -}}
{{- range $doc := regexSplit "(?m)^---[ \t]*$" $raw -1 }}
{{- $obj := fromYaml $doc }}
{{- if hasKey $obj "Error" }}
{{- fail (printf "%s: %s" $path (get $obj "Error")) }}
{{- end }}
{{- if and $obj (not (has (printf "%s/%s" $obj.kind $obj.metadata.name) $skipObjects)) }}
{{- $meta := $obj.metadata }}
{{- $_ := set $meta "labels" (merge (dict) (include "portico.componentLabels" (dict "ctx" $ctx "app" $.app) | fromYaml) ($meta.labels | default dict)) }}
{{- if $.phase }}
{{- $_ := set $meta "annotations" (merge (dict) (include "portico.hookAnnotations" (dict "phase" $.phase "weight" -10) | fromYaml) ($meta.annotations | default dict)) }}
{{- end }}
{{- if has (printf "%s/%s" $obj.kind $meta.name) $fixedObjects }}
{{- else if hasKey $meta "namespace" }}
{{- if has (printf "%s/%s" $obj.kind $meta.name) $lbObjects }}
{{- $_ := set $meta "namespace" $lbNs }}
{{- else }}
{{- $_ := set $meta "namespace" $ctx.Release.Namespace }}
{{- end }}
{{- end }}
{{- range $s := $obj.subjects | default list }}
{{- if eq $s.kind "ServiceAccount" }}
{{- $_ := set $s "namespace" $ctx.Release.Namespace }}
{{- end }}
{{- end }}
{{- range $r := $obj.rules | default list }}
{{- if and (has "namespaces" $r.resources) (has "kube-system" ($r.resourceNames | default list)) }}
{{- $_ := set $r "resourceNames" (list $lbNs) }}
{{- end }}
{{- if and (has "leases" $r.resources) (has "k3s-cloud-controller-manager" ($r.resourceNames | default list)) }}
{{- $ccmLease := printf "%s-cloud-controller-manager" $ctx.Values.serviceLB.program }}
{{- $names := list }}
{{- range $n := $r.resourceNames }}
{{- $names = append $names (ternary $ccmLease $n (eq $n "k3s-cloud-controller-manager")) }}
{{- end }}
{{- $_ := set $r "resourceNames" $names }}
{{- end }}
{{- end }}
---
{{ toYaml $obj }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The ServiceLB core's flags (servicelb-controller's and ccm's, docs/servicelb.md). */}}
{{- define "portico.serviceLBArgs" -}}
{{- $s := .Values.serviceLB -}}
- --lb-namespace={{ $s.namespace }}
- --forwarder-image={{ include "portico.image" (dict "ctx" . "image" $s.forwarderImage) }}
- --forwarding-mode={{ $s.forwardingMode }}
- --default-priority-class={{ $s.defaultPriorityClass }}
- --program={{ $s.program }}
- --rootless={{ $s.rootless }}
{{- end -}}

{{/*
A headless Service in front of a component's metrics port, for ServiceMonitors and ad-hoc scrapes.
Call with (dict "ctx" $ "app" "netpol-agent" "port" 10271).
*/}}
{{- define "portico.metricsService" }}
---
apiVersion: v1
kind: Service
metadata:
  name: portico-{{ .app }}-metrics
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "portico.componentLabels" . | nindent 4 }}
    portico.io/metrics: "true"
spec:
  clusterIP: None
  selector:
    {{- include "portico.selectorLabels" . | nindent 4 }}
  ports:
    - { name: metrics, port: {{ .port }}, targetPort: metrics, protocol: TCP }
{{- end -}}

{{/*
Annotations of an uninstall hook (templates/uninstall-cleanup.yaml). Call with (dict "phase" "post-delete" "weight" 0).
*/}}
{{- define "portico.hookAnnotations" -}}
helm.sh/hook: {{ .phase }}
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end -}}

{{/*
A hook Job running one Portico command as ServiceAccount portico-<app> (non-root, read-only root, no
capabilities; on control-plane nodes too). Call with (dict "ctx" $ "app" "servicelb-cleanup"
"phase" "post-delete" "weight" 0 "image" .Values.x.image "args" (list ...) ["name" "portico-..."]
["hostNetwork" true]).
*/}}
{{- define "portico.hookJob" }}
{{- $ctx := .ctx }}
{{- $c := $ctx.Values.uninstallCleanup }}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .name | default (printf "portico-%s" .app) }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "portico.componentLabels" (dict "ctx" $ctx "app" .app) | nindent 4 }}
  annotations:
    {{- include "portico.hookAnnotations" . | nindent 4 }}
spec:
  backoffLimit: 2
  activeDeadlineSeconds: {{ add (int $c.timeoutSeconds) 120 }}
  template:
    metadata:
      labels:
        {{- include "portico.componentLabels" (dict "ctx" $ctx "app" .app) | nindent 8 }}
    spec:
      serviceAccountName: {{ printf "portico-%s" .app }}
      restartPolicy: Never
      {{- if .hostNetwork }}
      hostNetwork: true
      {{- end }}
      {{- with include "portico.imagePullSecrets" $ctx | trim }}{{ . | nindent 6 }}{{ end }}
      securityContext:
        {{- include "portico.restrictedPodSecurity" . | nindent 8 }}
      tolerations:
        - { key: CriticalAddonsOnly, operator: Exists }
        - { key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule }
      containers:
        - name: {{ .app }}
          image: {{ include "portico.image" (dict "ctx" $ctx "image" .image) }}
          imagePullPolicy: {{ .image.pullPolicy }}
          args:
            {{- range .args }}
            - {{ . | quote }}
            {{- end }}
            - --log-level={{ $c.logLevel }}
          env:
            {{- include "portico.downwardEnv" . | nindent 12 }}
          resources:
            {{- toYaml $c.resources | nindent 12 }}
          securityContext:
            {{- include "portico.restrictedContainerSecurity" . | nindent 12 }}
{{- end }}
