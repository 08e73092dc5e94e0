{{/* The chart's name, or nameOverride. */}}
{{- define "ggufd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The objects' name: the release name, with the chart's name appended
unless the release name already holds it. */}}
{{- define "ggufd.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ggufd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ggufd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ggufd.labels" -}}
{{ include "ggufd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "ggufd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ggufd.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ggufd.modelClaimName" -}}
{{- default (printf "%s-models" (include "ggufd.fullname" .)) .Values.model.pvc.existingClaim }}
{{- end }}

{{/* SIGKILL comes this long after deletion: the preStop sleep, ggufd's
drain (--grace-period-ms), gRPC's shutdown (at most 5 s), and a margin. */}}
{{- define "ggufd.terminationGracePeriodSeconds" -}}
{{- add .Values.shutdown.preStopSleepSeconds .Values.server.gracePeriodSeconds 5 .Values.shutdown.marginSeconds }}
{{- end }}

{{/* Liveness may fail for as long as SIGTERM-to-SIGKILL lasts (the drain
turns service "" NOT_SERVING) without the kubelet restarting the container
mid-drain: failureThreshold x periodSeconds >= that. */}}
{{- define "ggufd.livenessFailureThreshold" -}}
{{- $drain := add .Values.server.gracePeriodSeconds 5 .Values.shutdown.marginSeconds }}
{{- $period := int .Values.probes.liveness.periodSeconds }}
{{- $needed := div (add $drain $period -1) $period }}
{{- max (int .Values.probes.liveness.failureThreshold) $needed }}
{{- end }}
