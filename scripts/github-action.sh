#!/usr/bin/env bash
# The check step of action.yml: goinstrument --check --format github --new-from-rev BASE
# (--changed-since BASE with new-code-only: false), and, with the sarif input, the same
# findings as a SARIF log.
# Environment: INPUT_BASE, INPUT_NEW_CODE_ONLY, INPUT_SARIF, INPUT_PATHS, INPUT_ARGS (the
# action's inputs), BASE_REF (github.base_ref), GOINSTRUMENT (the installed command; default:
# goinstrument on PATH), GITHUB_OUTPUT and GITHUB_STEP_SUMMARY (set by GitHub).
set -euo pipefail

base="${INPUT_BASE:-}"
if [ -z "$base" ]; then
    if [ -z "${BASE_REF:-}" ]; then
        echo "::error title=goinstrument::no base to compare with: set the action's 'base' input, or run it on pull_request"
        exit 2
    fi
    base="origin/$BASE_REF"
fi
remote_branch="${base#origin/}"
fetch_base() {
    git fetch --quiet --no-tags "$@" origin "+refs/heads/$remote_branch:refs/remotes/origin/$remote_branch" 2>/dev/null
}
if ! git rev-parse --quiet --verify "$base^{commit}" >/dev/null; then
    # actions/checkout fetches only the pull request's merge commit unless fetch-depth: 0.
    fetch_base || true
fi
has_merge_base() { git merge-base "$base" HEAD >/dev/null 2>&1; }
if ! has_merge_base && [ "$(git rev-parse --is-shallow-repository)" = true ]; then
    # A shallow clone: deepen both histories until they meet, then give up on shallowness.
    for depth in 50 200 1000; do
        fetch_base --deepen="$depth" || true  # deepens HEAD's history too: every shallow boundary
        if has_merge_base; then
            break
        fi
    done
    if ! has_merge_base; then
        git fetch --quiet --no-tags --unshallow origin 2>/dev/null || true
        fetch_base || true
    fi
fi

if [ "${INPUT_NEW_CODE_ONLY:-true}" = false ]; then
    since=(--changed-since "$base")
else
    since=(--new-from-rev "$base")
fi
read -r -a paths <<< "${INPUT_PATHS:-}"
read -r -a extra <<< "${INPUT_ARGS:-}"
command=("${GOINSTRUMENT:-goinstrument}" --check "${since[@]}" ${extra[@]+"${extra[@]}"})
status=0
if [ -n "${INPUT_SARIF:-}" ]; then
    # The same findings for code scanning; this run's exit code is the annotated run's.
    GITHUB_STEP_SUMMARY='' "${command[@]}" --format sarif -- ${paths[@]+"${paths[@]}"} > "$INPUT_SARIF" 2>/dev/null || true
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        echo "sarif-file=$INPUT_SARIF" >> "$GITHUB_OUTPUT"
    fi
fi
"${command[@]}" --format github -- ${paths[@]+"${paths[@]}"} || status=$?
exit "$status"
