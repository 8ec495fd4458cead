#!/usr/bin/env bash
# Install what the Go side of the tests needs, idempotently:
#   - goimports and staticcheck (pinned) into $(go env GOPATH)/bin
#   - the modules fixtures/gomod builds against (go mod download)
# Called by scripts/test before pytest. Safe to run again: it does nothing
# that is already done, and says what it did.
set -euo pipefail
cd "$(dirname "$0")/.."

GOIMPORTS_VERSION=v0.52.0   # golang.org/x/tools
STATICCHECK_VERSION=v0.8.2  # honnef.co/go/tools: staticcheck 2026.2.2, which supports Go 1.26

if ! command -v go >/dev/null 2>&1; then
    echo "go-tools: the go toolchain is not on PATH" >&2
    exit 1
fi
echo "go-tools: $(go version)"

gobin="$(go env GOPATH)/bin"
# install_pinned NAME MODULE PACKAGE VERSION: go install PACKAGE@VERSION unless the binary was built from it.
install_pinned() {
    local name="$1" module="$2" package="$3" version="$4" have=""
    if [ -x "$gobin/$name" ]; then
        have="$(go version -m "$gobin/$name" 2>/dev/null | awk -v m="$module" '$1 == "mod" && $2 == m {print $3}')"
    fi
    if [ "$have" = "$version" ]; then
        echo "go-tools: $name $version already in $gobin"
    else
        echo "go-tools: installing $name $version into $gobin (had: ${have:-none})"
        GOBIN="$gobin" go install "$package@$version"
    fi
}
install_pinned goimports golang.org/x/tools golang.org/x/tools/cmd/goimports "$GOIMPORTS_VERSION"
install_pinned staticcheck honnef.co/go/tools honnef.co/go/tools/cmd/staticcheck "$STATICCHECK_VERSION"

echo "go-tools: go mod download in fixtures/gomod"
(cd fixtures/gomod && go mod download && go mod verify >/dev/null)
echo "go-tools: fixtures/gomod modules present ($(cd fixtures/gomod && go list -m all | wc -l | tr -d ' ') in the build list)"
