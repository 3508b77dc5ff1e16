#!/bin/sh
# Regenerates src/request/job_token_routes.tsv from GitLab's generated list of the REST routes
# that accept CI/CD job tokens (doc/ci/jobs/fine_grained_permissions.md, written by GitLab's
# `bundle exec rake ci:job_tokens:compile_docs`).
#
# Usage:
#   src/request/refresh-routes.sh COMMIT [FILE] > src/request/job_token_routes.tsv
#
# COMMIT is the GitLab commit (or tag, e.g. v18.3.0-ee) the list is taken from; it is written
# into the header. FILE is that commit's fine_grained_permissions.md; without it the file is
# downloaded from gitlab.com with curl:
#   https://gitlab.com/gitlab-org/gitlab/-/raw/COMMIT/doc/ci/jobs/fine_grained_permissions.md
# Then run `cargo test --lib request` (every route must parse and match itself).
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 COMMIT [FILE] > src/request/job_token_routes.tsv" >&2
    exit 2
fi
commit=$1
if [ $# -eq 2 ]; then
    input=$(cat "$2")
else
    command -v curl >/dev/null || { echo "$0: curl is needed to download the list (or pass FILE)" >&2; exit 2; }
    input=$(curl -fsSL "https://gitlab.com/gitlab-org/gitlab/-/raw/$commit/doc/ci/jobs/fine_grained_permissions.md")
fi

# The header stays short: the file is compiled into the binary, which has a size budget.
printf '%s\n' \
    "# REST routes accepting CI/CD job tokens: method, path below /api/v4, fine-grained permissions (- none)." \
    "# From doc/ci/jobs/fine_grained_permissions.md at gitlab-org/gitlab commit $commit" \
    "# by src/request/refresh-routes.sh $commit [FILE]; do not edit by hand."
printf '%s\n' "$input" | awk -F'|' '
    # A table row: | Permissions | `NAME`, `NAME` | `METHOD /path` | Description |
    # (the description is left out: nothing shows it).
    /^\| .* \| `(GET|HEAD|POST|PUT|PATCH|DELETE) \// {
        names = $3; route = $4
        gsub(/[` ]/, "", names); names = tolower(names)
        if (names == "") names = "-"
        gsub(/^ *`|` *$/, "", route)
        split(route, parts, " ")
        printf "%s\t%s\t%s\n", parts[1], parts[2], names
    }
' | LC_ALL=C sort -t "$(printf '\t')" -k2,2 -k1,1
