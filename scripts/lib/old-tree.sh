# old-tree.sh — sourced by scripts/same-bits.sh and scripts/bench-vs.sh: an
# earlier commit checked out in a temporary worktree and built beside this
# tree, both removed again when the script exits.
#
#   old_tree TOOL REV TARGET    sets $work (a temporary directory) and builds
#                               make TARGET in $work/old (REV) and here

old_tree() {
    here=$(pwd)
    work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    trap 'git -C "$here" worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT INT TERM
    git worktree add --detach "$work/old" "$2" >/dev/null 2>&1 || {
        echo "$1: cannot check out $2" >&2; exit 2; }
    make -C "$work/old" -j2 "$3" >/dev/null || { echo "$1: $2 does not build" >&2; exit 2; }
    make -j2 "$3" >/dev/null
}
