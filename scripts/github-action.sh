#!/usr/bin/env bash
# The check step of action.yml: goinstrument --check --format github --changed-since BASE.
# Environment: INPUT_BASE, INPUT_PATHS, INPUT_ARGS (the action's inputs), BASE_REF
# (github.base_ref), GOINSTRUMENT (the installed command; default: goinstrument on PATH).
set -euo pipefail

base="${INPUT_BASE:-}"
if [ -z "$base" ]; then
    if [ -z "${BASE_REF:-}" ]; then
        echo "::error title=goinstrument::no base to compare with: set the action's 'base' input, or run it on pull_request"
        exit 2
    fi
    base="origin/$BASE_REF"
fi
if ! git rev-parse --quiet --verify "$base^{commit}" >/dev/null; then
    # actions/checkout fetches only the pull request's merge commit unless fetch-depth: 0.
    remote_branch="${base#origin/}"
    git fetch --quiet --no-tags origin "+refs/heads/$remote_branch:refs/remotes/origin/$remote_branch" 2>/dev/null || true
fi

read -r -a paths <<< "${INPUT_PATHS:-}"
read -r -a extra <<< "${INPUT_ARGS:-}"
exec "${GOINSTRUMENT:-goinstrument}" --check --format github --changed-since "$base" ${extra[@]+"${extra[@]}"} -- ${paths[@]+"${paths[@]}"}
