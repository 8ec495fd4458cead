#!/usr/bin/env bash
# Install what the Go side of the tests needs, idempotently:
#   - goimports (pinned) into $(go env GOPATH)/bin
#   - the modules fixtures/gomod builds against (go mod download)
# Called by scripts/test before pytest. Safe to run again: it does nothing
# that is already done, and says what it did.
set -euo pipefail
cd "$(dirname "$0")/.."

GOIMPORTS_VERSION=v0.52.0   # golang.org/x/tools

if ! command -v go >/dev/null 2>&1; then
    echo "go-tools: the go toolchain is not on PATH" >&2
    exit 1
fi
echo "go-tools: $(go version)"

gobin="$(go env GOPATH)/bin"
goimports="$gobin/goimports"
have=""
if [ -x "$goimports" ]; then
    # The module version the binary was built from, e.g. "v0.52.0".
    have="$(go version -m "$goimports" 2>/dev/null | awk '$1 == "mod" && $2 == "golang.org/x/tools" {print $3}')"
fi
if [ "$have" = "$GOIMPORTS_VERSION" ]; then
    echo "go-tools: goimports $GOIMPORTS_VERSION already in $gobin"
else
    echo "go-tools: installing goimports $GOIMPORTS_VERSION into $gobin (had: ${have:-none})"
    GOBIN="$gobin" go install "golang.org/x/tools/cmd/goimports@$GOIMPORTS_VERSION"
fi

echo "go-tools: go mod download in fixtures/gomod"
(cd fixtures/gomod && go mod download && go mod verify >/dev/null)
echo "go-tools: fixtures/gomod modules present ($(cd fixtures/gomod && go list -m all | wc -l | tr -d ' ') in the build list)"
