{{/* Names: <release>-fedsim unless overridden, cut to 63 characters for DNS labels. */}}
{{- define "fedsim.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "fedsim.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "fedsim.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "fedsim.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fedsim
{{- end -}}

{{/* Selector labels of one component: call with (dict "root" $ "component" "worker") */}}
{{- define "fedsim.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fedsim.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "fedsim.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "fedsim.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Image reference: call with (dict "root" $ "image" .Values.x.image) */}}
{{- define "fedsim.image" -}}
{{- $tag := default .root.Chart.AppVersion (default .root.Values.image.tag .image.tag) -}}
{{- if .root.Values.image.registry -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The chart's own Secret (credentials given as values). */}}
{{- define "fedsim.secretName" -}}
{{- printf "%s-credentials" (include "fedsim.fullname" .) -}}
{{- end -}}

{{/* ---------------------------------------------------------------- Redis */}}
{{- define "fedsim.redis.host" -}}
{{- if .Values.redis.bundled -}}
{{- printf "%s-redis" (include "fedsim.fullname" .) -}}
{{- else -}}
{{- required "redis.external.host is required when redis.bundled=false" .Values.redis.external.host -}}
{{- end -}}
{{- end -}}

{{- define "fedsim.redis.port" -}}
{{- if .Values.redis.bundled -}}6379{{- else -}}{{ .Values.redis.external.port }}{{- end -}}
{{- end -}}

{{- define "fedsim.redis.database" -}}
{{- if .Values.redis.bundled -}}0{{- else -}}{{ .Values.redis.external.database }}{{- end -}}
{{- end -}}

{{- define "fedsim.redis.tls" -}}
{{- if and (not .Values.redis.bundled) .Values.redis.external.tls -}}true{{- end -}}
{{- end -}}

{{/* Secret name and key holding the Redis password (only when redis.auth.enabled). */}}
{{- define "fedsim.redis.passwordSecret" -}}
{{- if .Values.redis.auth.existingSecret -}}
{{- .Values.redis.auth.existingSecret -}}
{{- else -}}
{{- include "fedsim.secretName" . -}}
{{- end -}}
{{- end -}}

{{- define "fedsim.redis.passwordKey" -}}
{{- if .Values.redis.auth.existingSecret -}}
{{- .Values.redis.auth.existingSecretPasswordKey -}}
{{- else -}}
redis-password
{{- end -}}
{{- end -}}

{{/* ---------------------------------------------------------------- S3 */}}
{{- define "fedsim.s3.endpoint" -}}
{{- if .Values.minio.bundled -}}
{{- printf "http://%s-minio:9000" (include "fedsim.fullname" .) -}}
{{- else -}}
{{- .Values.s3.endpoint -}}
{{- end -}}
{{- end -}}

{{/* Whether pods get static S3 keys from a Secret. */}}
{{- define "fedsim.s3.staticKeys" -}}
{{- if or .Values.minio.bundled (eq .Values.s3.credentials.source "secret") -}}true{{- end -}}
{{- end -}}

{{- define "fedsim.s3.secretName" -}}
{{- if .Values.minio.bundled -}}
{{- default (include "fedsim.secretName" .) .Values.minio.existingSecret -}}
{{- else -}}
{{- default (include "fedsim.secretName" .) .Values.s3.credentials.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "fedsim.s3.accessKeyIdKey" -}}
{{- if .Values.minio.bundled -}}
{{- if .Values.minio.existingSecret -}}root-user{{- else -}}s3-access-key-id{{- end -}}
{{- else if .Values.s3.credentials.existingSecret -}}
{{- .Values.s3.credentials.accessKeyIdKey -}}
{{- else -}}
s3-access-key-id
{{- end -}}
{{- end -}}

{{- define "fedsim.s3.secretAccessKeyKey" -}}
{{- if .Values.minio.bundled -}}
{{- if .Values.minio.existingSecret -}}root-password{{- else -}}s3-secret-access-key{{- end -}}
{{- else if .Values.s3.credentials.existingSecret -}}
{{- .Values.s3.credentials.secretAccessKeyKey -}}
{{- else -}}
s3-secret-access-key
{{- end -}}
{{- end -}}

{{/*
Environment shared by the coordinator and the workers: the contract in docs/deploy-kubernetes.md.
Call with (dict "root" $ "metricsPort" 9464). Secrets are only ever referenced, never inlined.
*/}}
{{- define "fedsim.env" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $scheme := ternary "rediss" "redis" (eq (include "fedsim.redis.tls" $root) "true") -}}
{{- $hostPort := printf "%s:%s/%s" (include "fedsim.redis.host" $root) (include "fedsim.redis.port" $root) (include "fedsim.redis.database" $root) -}}
{{- if $v.redis.auth.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "fedsim.redis.passwordSecret" $root }}
      key: {{ include "fedsim.redis.passwordKey" $root }}
- name: REDIS_URL
  value: {{ printf "%s://:$(REDIS_PASSWORD)@%s" $scheme $hostPort | quote }}
{{- else }}
- name: REDIS_URL
  value: {{ printf "%s://%s" $scheme $hostPort | quote }}
{{- end }}
{{- $endpoint := include "fedsim.s3.endpoint" $root }}
{{- if $endpoint }}
- name: S3_ENDPOINT
  value: {{ $endpoint | quote }}
{{- end }}
- name: S3_BUCKET
  value: {{ required "s3.bucket is required" $v.s3.bucket | quote }}
- name: S3_REGION
  value: {{ $v.s3.region | quote }}
{{- if $v.s3.prefix }}
- name: S3_PREFIX
  value: {{ $v.s3.prefix | quote }}
{{- end }}
- name: S3_FORCE_PATH_STYLE
  value: {{ ternary "true" (printf "%t" $v.s3.forcePathStyle) $v.minio.bundled | quote }}
{{- if eq (include "fedsim.s3.staticKeys" $root) "true" }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ include "fedsim.s3.secretName" $root }}
      key: {{ include "fedsim.s3.accessKeyIdKey" $root }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "fedsim.s3.secretName" $root }}
      key: {{ include "fedsim.s3.secretAccessKeyKey" $root }}
{{- end }}
- name: FEDSIM_QUEUE_PREFIX
  value: {{ $v.fedsim.queuePrefix | quote }}
- name: FEDSIM_METRICS_HOST
  value: "0.0.0.0"
- name: FEDSIM_METRICS_PORT
  value: {{ .metricsPort | quote }}
{{- if $v.fedsim.pushgatewayUrl }}
- name: FEDSIM_PUSHGATEWAY_URL
  value: {{ $v.fedsim.pushgatewayUrl | quote }}
{{- end }}
- name: FEDSIM_DATA_DIR
  value: {{ $v.data.mountPath | quote }}
{{- with $v.fedsim.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Probes on the metrics port: liveness = the process answers, readiness = it can take work. */}}
{{- define "fedsim.probes" -}}
startupProbe:
  httpGet: { path: /healthz, port: metrics }
  periodSeconds: 5
  failureThreshold: 60
livenessProbe:
  httpGet: { path: /healthz, port: metrics }
  periodSeconds: 15
  timeoutSeconds: 5
  failureThreshold: 4
readinessProbe:
  httpGet: { path: /readyz, port: metrics }
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
{{- end -}}

{{/* Pod annotations as YAML (may be empty): call with (dict "root" $ "port" 9464 "extra" .Values.x.podAnnotations) */}}
{{- define "fedsim.podAnnotations" -}}
{{- $annotations := dict -}}
{{- if .root.Values.metrics.podAnnotations -}}
{{- $_ := set $annotations "prometheus.io/scrape" "true" -}}
{{- $_ := set $annotations "prometheus.io/port" (printf "%v" .port) -}}
{{- $_ := set $annotations "prometheus.io/path" "/metrics" -}}
{{- end -}}
{{- range $key, $value := .extra -}}
{{- $_ := set $annotations $key $value -}}
{{- end -}}
{{- with $annotations -}}
{{- toYaml . -}}
{{- end -}}
{{- end -}}

{{/* Pod template labels: the common labels plus the component (a superset of the selector). */}}
{{- define "fedsim.podLabels" -}}
{{ include "fedsim.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Volumes every fedsim pod mounts: data (read-only) and a writable /tmp. */}}
{{- define "fedsim.commonVolumes" -}}
- name: data
{{- if .Values.data.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .Values.data.existingClaim }}
    readOnly: true
{{- else }}
  emptyDir: {}
{{- end }}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "fedsim.commonVolumeMounts" -}}
- name: data
  mountPath: {{ .Values.data.mountPath }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Autoscaling mode after resolving "auto" against the cluster's APIs. */}}
{{- define "fedsim.autoscalingMode" -}}
{{- $mode := .Values.autoscaling.mode -}}
{{- if eq $mode "auto" -}}
{{- ternary "keda" "hpa" (.Capabilities.APIVersions.Has "keda.sh/v1alpha1") -}}
{{- else -}}
{{- $mode -}}
{{- end -}}
{{- end -}}
