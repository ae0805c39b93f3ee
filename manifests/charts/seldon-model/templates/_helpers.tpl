{{/*
The SeldonDeployment name: the same rule as seldon_pkg/naming.py, with the release in the
identity. Readable slug of the release name, cut so that the name stays within 42 characters
(the operator derives "<name>-default-0-classifier", which must fit in 63), then "-" and 10 hex
characters of sha256 over the JSON list [namespace, release, model, version].
*/}}
{{- define "seldon-model.name" -}}
{{- $identity := list .Release.Namespace .Release.Name (toString .Values.model.name) (toString .Values.model.version) | toJson -}}
{{- $hash := $identity | sha256sum | trunc 10 -}}
{{- $slug := regexReplaceAll "[^a-z0-9]+" (lower .Release.Name) "-" | trimAll "-" -}}
{{- if not (regexMatch "^[a-z]" $slug) -}}{{- $slug = printf "m-%s" $slug | trimSuffix "-" -}}{{- end -}}
{{- $slug = $slug | trunc 31 | trimSuffix "-" -}}
{{- printf "%s-%s" $slug $hash -}}
{{- end -}}

{{- define "seldon-model.labelValue" -}}
{{- regexReplaceAll "[^A-Za-z0-9_.-]+" (toString .) "-" | trunc 63 | trimAll "-_." -}}
{{- end -}}

{{- define "seldon-model.labels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
seldon-pkg.io/model: {{ include "seldon-model.labelValue" .Values.model.name | quote }}
seldon-pkg.io/version: {{ include "seldon-model.labelValue" .Values.model.version | quote }}
{{- end -}}
