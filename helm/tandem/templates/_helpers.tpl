{{/* Names, labels and the pieces every Deployment shares. */}}

{{- define "tandem.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tandem.fullname" -}}
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

{{- define "tandem.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "tandem.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "tandem.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tandem.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
The Deployments of the chosen mode, as a YAML list: the component name (label and suffix), the
Tandem role it runs, and the values block that sizes it.
*/}}
{{- define "tandem.components" -}}
{{- $full := include "tandem.fullname" . -}}
{{- if eq .Values.mode "split" -}}
- {component: api, role: api, name: {{ printf "%s-api" $full | trunc 63 | trimSuffix "-" }}, values: api, rest: true}
- {component: realtime, role: realtime, name: {{ printf "%s-realtime" $full | trunc 63 | trimSuffix "-" }}, values: realtime, rest: false}
{{- else if eq .Values.mode "evaluation" -}}
- {component: server, role: all, name: {{ $full }}, values: evaluation, rest: true}
{{- else -}}
- {component: server, role: all, name: {{ $full }}, values: all, rest: true}
{{- end -}}
{{- end -}}

{{- define "tandem.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tandem.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "tandem.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret the chart makes for inline secret values. */}}
{{- define "tandem.secretName" -}}
{{- include "tandem.fullname" . -}}
{{- end -}}

{{/* An env entry for one secret setting: from an existing Secret, or from the chart's own. */}}
{{- define "tandem.secretEnv" -}}
{{- $s := index .root.Values.secrets .field -}}
{{- $name := "" -}}
{{- if $s.existingSecret -}}
{{- $name = $s.existingSecret -}}
{{- else if eq .field "keyEncryptionKey" -}}
{{- if or $s.value $s.generate -}}{{- $name = printf "%s-kek" (include "tandem.fullname" .root) -}}{{- end -}}
{{- else if $s.value -}}
{{- $name = include "tandem.secretName" .root -}}
{{- end -}}
{{- if $name -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ $name }}
      key: {{ $s.key }}
{{- end -}}
{{- end -}}

{{- define "tandem.hasRedis" -}}
{{- if or .Values.secrets.redisUrl.value .Values.secrets.redisUrl.existingSecret -}}true{{- end -}}
{{- end -}}

{{/*
Checks JSON Schema cannot express: the grace period covers preStop and the drain; more than one
replica of role all needs Redis so that events reach every replica.
*/}}
{{- define "tandem.validate" -}}
{{- $needed := add .Values.preStopSleepSeconds .Values.config.requestTimeoutSecs 5 -}}
{{- if lt (int .Values.terminationGracePeriodSeconds) (int $needed) -}}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be at least preStopSleepSeconds + config.requestTimeoutSecs + 5 (%v), or sockets and requests are cut off before they drain" .Values.terminationGracePeriodSeconds $needed) -}}
{{- end -}}
{{- if and (eq .Values.mode "all") (not (include "tandem.hasRedis" .)) (or (gt (int .Values.all.replicas) 1) .Values.all.autoscaling.enabled) -}}
{{- fail "mode all with more than one replica (or autoscaling) needs secrets.redisUrl: without Redis an event reaches only the sockets of the replica that made it" -}}
{{- end -}}
{{- end -}}
