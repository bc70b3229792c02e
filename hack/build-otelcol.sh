#!/usr/bin/env bash
# Builds a minimal OpenTelemetry Collector from the Go module proxy at the versions pinned in
# hack/versions.env, into a cache directory outside the repo, and prints its path. The tests run it
# as the trace backend the controller exports to: an OTLP receiver (HTTP) whose spans the contrib
# file exporter writes as JSON lines for the test to read. A binary already in the cache is not
# rebuilt.
#
#   hack/build-otelcol.sh [--print-env]
#
# With --print-env, prints PLUMBLINE_OTELCOL=... instead (what the tests read).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/plumbline
# Bump when the build recipe below (or the component list in main.go) changes, so a binary built by
# an older recipe is not reused.
recipe=1
version=$OTELCOL_VERSION
# Contrib sometimes has patch releases of its own (v0.X.1): a binary with another contrib differs.
[ "$OTELCOL_CONTRIB_VERSION" = "$OTELCOL_VERSION" ] || version+=-contrib-$OTELCOL_CONTRIB_VERSION
bin_dir=$cache_root/bin/otelcol-$version-r$recipe
bin=$bin_dir/otelcol

if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "build-otelcol: needs Go (1.26 or newer) on PATH" >&2; exit 1; }
  mkdir -p "$bin_dir"
  echo "build-otelcol: building otelcol $OTELCOL_VERSION (contrib $OTELCOL_CONTRIB_VERSION)" >&2
  work=$(mktemp -d "$cache_root/build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  # What the upstream builder (ocb) would generate, cut down to the two components the tests use.
  # The official distributions carry hundreds, and take far longer to build.
  cat >"$work/main.go" <<'EOF'
package main

import (
	"log"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

var version = "dev" // set with -ldflags -X

func components() (otelcol.Factories, error) {
	var factories otelcol.Factories
	var err error
	if factories.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory()); err != nil {
		return factories, err
	}
	if factories.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](fileexporter.NewFactory()); err != nil {
		return factories, err
	}
	factories.Telemetry = otelconftelemetry.NewFactory()
	return factories, nil
}

func main() {
	settings := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "otelcol",
			Description: "Plumbline's test collector (OTLP receiver, file exporter)",
			Version:     version,
		},
		Factories: components,
		// --config=FILE; env is there because NewCommand makes it the default scheme of ${...}.
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					fileprovider.NewFactory(), envprovider.NewFactory(),
				},
			},
		},
	}
	if err := otelcol.NewCommand(settings).Execute(); err != nil {
		log.Fatal(err)
	}
}
EOF
  (
    cd "$work"
    go mod init plumbline.local/otelcol >/dev/null 2>&1
    # Name every module main.go imports, so that tidy only fills in what they require.
    go get "go.opentelemetry.io/collector/otelcol@$OTELCOL_VERSION" \
      "go.opentelemetry.io/collector/service@$OTELCOL_VERSION" \
      "go.opentelemetry.io/collector/receiver/otlpreceiver@$OTELCOL_VERSION" \
      "go.opentelemetry.io/collector/component@$OTELCOL_STABLE_VERSION" \
      "go.opentelemetry.io/collector/confmap@$OTELCOL_STABLE_VERSION" \
      "go.opentelemetry.io/collector/confmap/provider/envprovider@$OTELCOL_STABLE_VERSION" \
      "go.opentelemetry.io/collector/confmap/provider/fileprovider@$OTELCOL_STABLE_VERSION" \
      "go.opentelemetry.io/collector/exporter@$OTELCOL_STABLE_VERSION" \
      "go.opentelemetry.io/collector/receiver@$OTELCOL_STABLE_VERSION" \
      "github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter@$OTELCOL_CONTRIB_VERSION" >&2
    go mod tidy >&2
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${OTELCOL_VERSION#v}" \
      -o "$bin.tmp.$$" .
    mv "$bin.tmp.$$" "$bin"  # atomic: a concurrent build may race us
  )
fi

case "${1:-}" in
  --print-env) echo "PLUMBLINE_OTELCOL=$bin" ;;
  "") echo "$bin" ;;
  *) echo "usage: $0 [--print-env]" >&2; exit 2 ;;
esac
