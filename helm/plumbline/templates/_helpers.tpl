{{/*
Object names: fixed (fullnameOverride, default "plumbline"), not prefixed with the release name,
so that the chart and deploy/ create the same objects.
*/}}
{{- define "plumbline.fullname" -}}
{{- default "plumbline" .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the controller's pods (Deployment, Service, anti-affinity). */}}
{{- define "plumbline.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{/*
Labels of every object. deploy/ carries app.kubernetes.io/name only; the other four say which
release and chart made the object, which deploy/ has no equivalent for.
*/}}
{{- define "plumbline.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels of the controller's Deployment, Service and ServiceMonitor. */}}
{{- define "plumbline.controllerLabels" -}}
{{ include "plumbline.labels" . }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "plumbline.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Values that cannot work together fail the render with a message instead. */}}
{{- define "plumbline.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) -}}
{{- fail "replicaCount > 1 needs leaderElection.enabled: two replicas must never both reconcile" -}}
{{- end -}}
{{- if and .Values.serviceMonitor.enabled (not .Values.metrics.enabled) -}}
{{- fail "serviceMonitor.enabled needs metrics.enabled: there is nothing to scrape" -}}
{{- end -}}
{{- if and .Values.webhook.enabled (not .Values.webhook.secretName) -}}
{{- fail "webhook.enabled needs webhook.secretName: the Secret holding the webhook's shared secret" -}}
{{- end -}}
{{- end -}}
