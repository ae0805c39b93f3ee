{{/*
The SeldonDeployment name: the rule of seldon_pkg/platforms/seldon.py (chart_release_name), with the
release in the identity. Readable slug of the release name, cut so that the name stays within
42 characters (the operator derives "<name>-default-0-classifier", which must fit in 63), then
"-" and 10 hex characters of sha256 over the JSON list [namespace, release, model, version].
tests/test_helm.py renders hostile values with helm and compares them with the Python rule.
*/}}
{{- define "seldon-model.digest" -}}
{{- list .Release.Namespace .Release.Name (toString .Values.model.name) (toString .Values.model.version) | toJson | sha256sum | trunc 10 -}}
{{- end -}}

{{- define "seldon-model.name" -}}
{{- $slug := regexReplaceAll "[^a-z0-9]+" (lower .Release.Name) "-" | trimAll "-" -}}
{{- if not (regexMatch "^[a-z]" $slug) -}}{{- $slug = printf "m-%s" $slug | trimSuffix "-" -}}{{- end -}}
{{- $slug = $slug | trunc 31 | trimSuffix "-" -}}
{{- printf "%s-%s" $slug (include "seldon-model.digest" .) -}}
{{- end -}}

{{/*
A label value by seldon_pkg/platforms/names.py's label_value rule: a valid value is kept; anything
else becomes its slug cut to 54 characters, "-", and 8 hex characters of its sha256.
*/}}
{{- define "seldon-model.labelValue" -}}
{{- $value := toString . -}}
{{- if regexMatch "^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$" $value -}}
{{- $value -}}
{{- else -}}
{{- $slug := regexReplaceAll "[^a-z0-9]+" (lower $value) "-" | trimAll "-" | trunc 54 | trimSuffix "-" -}}
{{- $hash := sha256sum $value | trunc 8 -}}
{{- if $slug -}}{{- printf "%s-%s" $slug $hash -}}{{- else -}}{{- $hash -}}{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Our labels (seldon_pkg/platforms/labels.py): list, delete and prune select managed-by=seldon-pkg, so a
release is seen like any other deployment. Helm itself needs no label on the objects it
installs (it tracks them in its release Secret); app.kubernetes.io/instance and helm.sh/chart
stay for people and tools that look for them.
*/}}
{{- define "seldon-model.labels" -}}
app.kubernetes.io/managed-by: seldon-pkg
app.kubernetes.io/instance: {{ .Release.Name | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
seldon-pkg.io/model: {{ include "seldon-model.labelValue" .Values.model.name | quote }}
seldon-pkg.io/version: {{ include "seldon-model.labelValue" .Values.model.version | quote }}
seldon-pkg.io/identity: {{ include "seldon-model.digest" . | quote }}
seldon-pkg.io/revision: {{ omit .Values "model" | toJson | sha256sum | trunc 8 | quote }}
{{- end -}}
