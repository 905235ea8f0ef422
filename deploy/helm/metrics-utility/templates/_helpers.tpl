{{/* Chart name, truncated to a DNS label. */}}
{{- define "metrics-utility.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified name: the release name when it already contains the chart name. */}}
{{- define "metrics-utility.fullname" -}}
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

{{- define "metrics-utility.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of the chart's own objects, without a component (the CronJobs are labelled by the operator). */}}
{{- define "metrics-utility.commonLabels" -}}
helm.sh/chart: {{ include "metrics-utility.chart" . }}
app.kubernetes.io/name: {{ include "metrics-utility.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: metrics-utility
{{- end -}}

{{- define "metrics-utility.labels" -}}
{{ include "metrics-utility.commonLabels" . }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* Selects the operator pod only (worker pods carry `app.kubernetes.io/instance: <collection>`). */}}
{{- define "metrics-utility.selectorLabels" -}}
app.kubernetes.io/name: {{ include "metrics-utility.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "metrics-utility.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "metrics-utility.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "metrics-utility.workerServiceAccountName" -}}
{{- default (printf "%s-worker" (include "metrics-utility.fullname" .)) .Values.worker.serviceAccount.name -}}
{{- end -}}

{{- define "metrics-utility.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Images a MetricsCollection may name in spec.image besides the worker image (docs/install.md, trust model):
worker.allowedImages, and the image of the collection this release creates (its author is the chart's). */}}
{{- define "metrics-utility.allowedImages" -}}
{{- $images := .Values.worker.allowedImages | default list -}}
{{- if and .Values.collection.enabled .Values.collection.spec.image -}}
{{- $images = append $images .Values.collection.spec.image -}}
{{- end -}}
{{- join "," (uniq $images) -}}
{{- end -}}

{{/* Service accounts a MetricsCollection may name in spec.serviceAccountName: the worker account, the ones in
worker.allowedServiceAccounts, and the one the release's own collection names. */}}
{{- define "metrics-utility.allowedServiceAccounts" -}}
{{- $accounts := prepend (.Values.worker.allowedServiceAccounts | default list) (include "metrics-utility.workerServiceAccountName" .) -}}
{{- if and .Values.collection.enabled .Values.collection.spec.serviceAccountName -}}
{{- $accounts = append $accounts .Values.collection.spec.serviceAccountName -}}
{{- end -}}
{{- join "," (uniq $accounts) -}}
{{- end -}}

{{/* The ClusterRole of the dashboards' token and access reviews (dashboard.networkMode). */}}
{{- define "metrics-utility.dashboardAuthRole" -}}
{{- printf "%s-dashboard-auth" (include "metrics-utility.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
