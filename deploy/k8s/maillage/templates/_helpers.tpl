{{/* Chart name. */}}
{{- define "maillage.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name: "maillage" for a release named maillage. */}}
{{- define "maillage.fullname" -}}
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

{{- define "maillage.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Common labels (app.kubernetes.io/*). */}}
{{- define "maillage.labels" -}}
helm.sh/chart: {{ include "maillage.chart" . }}
{{ include "maillage.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: maillage
{{- end -}}

{{- define "maillage.selectorLabels" -}}
app.kubernetes.io/name: {{ include "maillage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* A service's name as a DNS label: dmp_bridge -> dmp-bridge. Arg: the service key. */}}
{{- define "maillage.component" -}}
{{- . | replace "_" "-" -}}
{{- end -}}

{{/* Resource name of a service. Args: dict root, name. */}}
{{- define "maillage.serviceFullname" -}}
{{- printf "%s-%s" (include "maillage.fullname" .root) (include "maillage.component" .name) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of a service's objects. Args: dict root, name. */}}
{{- define "maillage.serviceLabels" -}}
{{ include "maillage.labels" .root }}
app.kubernetes.io/component: {{ include "maillage.component" .name }}
{{- end -}}

{{/* Selector of a service's pods. Args: dict root, name. */}}
{{- define "maillage.serviceSelectorLabels" -}}
{{ include "maillage.selectorLabels" .root }}
app.kubernetes.io/component: {{ include "maillage.component" .name }}
{{- end -}}

{{- define "maillage.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "maillage.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "maillage.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
Checks of the values, done once (included by the ConfigMap, which is always rendered).
Every failure is one sentence naming the value to set.
*/}}
{{- define "maillage.validate" -}}
{{- $env := .Values.config.environment -}}
{{- if not (has $env (list "production" "development" "test")) -}}
{{- fail (printf "config.environment must be production, development or test, not %q." $env) -}}
{{- end -}}
{{- $_ := required "config.auth.issuer is required: the OAuth2 issuer of the bearer tokens (Pro Santé Connect in production)." .Values.config.auth.issuer -}}
{{- $_ := required "config.auth.jwksUrl is required: the JWKS URL of config.auth.issuer." .Values.config.auth.jwksUrl -}}
{{- $_ := required "secrets.amqpUri.name is required: the name of an existing Secret holding the RabbitMQ URI (key secrets.amqpUri.key)." .Values.secrets.amqpUri.name -}}
{{- $_ := required "secrets.amqpUri.key is required." .Values.secrets.amqpUri.key -}}
{{- if and .Values.database.embeddedSqlite (eq $env "production") -}}
{{- fail "database.embeddedSqlite is for development only: set secrets.databaseUrl (PostgreSQL) when config.environment is production." -}}
{{- end -}}
{{- $enabled := list -}}
{{- range $name, $svc := .Values.services -}}
{{- if $svc.enabled -}}
{{- $enabled = append $enabled $name -}}
{{- $own := get ($.Values.secrets.serviceDatabaseUrls | default dict) $name -}}
{{- if not (or $.Values.secrets.databaseUrl.name (and $own $own.name) $.Values.database.embeddedSqlite) -}}
{{- fail (printf "secrets.databaseUrl.name (or secrets.serviceDatabaseUrls.%s.name) is required: the name of an existing Secret holding the PostgreSQL URL of service %s." $name $name) -}}
{{- end -}}
{{- if not (kindIs "slice" $svc.extraEnv) -}}
{{- fail (printf "services.%s.extraEnv must be a list of EnvVar ({name, value} or {name, valueFrom})." $name) -}}
{{- end -}}
{{- range $svc.extraEnv -}}
{{- if and (hasKey . "value") (or (eq .name "AMQP_URI") (hasSuffix "DATABASE_URL" .name)) -}}
{{- fail (printf "services.%s.extraEnv: %s carries credentials; give it with valueFrom.secretKeyRef, never as a plain value." $name .name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if not $enabled -}}
{{- fail "No service is enabled: set services.<name>.enabled for at least one service." -}}
{{- end -}}
{{- if .Values.ingress.enabled -}}
{{- $_ := required "ingress.host is required when ingress.enabled: the public host name of the platform." .Values.ingress.host -}}
{{- $default := .Values.ingress.defaultService -}}
{{- $svc := get .Values.services $default -}}
{{- if not (and $svc $svc.enabled) -}}
{{- fail (printf "ingress.defaultService %q must name an enabled service." $default) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Environment of a service container. Args: dict root, name, svc. */}}
{{- define "maillage.env" -}}
{{- $root := .root -}}
- name: AMQP_URI
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.secrets.amqpUri.name }}
      key: {{ $root.Values.secrets.amqpUri.key }}
{{- $own := get ($root.Values.secrets.serviceDatabaseUrls | default dict) .name }}
{{- if and $own $own.name }}
- name: {{ printf "MAILLAGE_%s_DATABASE_URL" (upper .name) }}
  valueFrom:
    secretKeyRef:
      name: {{ $own.name }}
      key: {{ $own.key | default "url" }}
{{- else if $root.Values.secrets.databaseUrl.name }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.secrets.databaseUrl.name }}
      key: {{ $root.Values.secrets.databaseUrl.key }}
{{- end }}
{{- with .svc.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
