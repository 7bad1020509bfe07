# idx-verify.sh — sourced by data/fetch-mnist.sh and
# data/fetch-fashion-mnist.sh: the four IDX file names, die, sha256 (from
# sha256sum or shasum) and all_verified DIR (true when the four files in
# DIR match their checksums).  The sourcing script sets prog and defines
# expected_sum NAME before it uses them.

files="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"

die() {
    printf '%s: %s\n' "$prog" "$*" >&2
    exit 1
}

if command -v sha256sum >/dev/null 2>&1; then
    sha256() { sha256sum <"$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
    sha256() { shasum -a 256 <"$1" | cut -d' ' -f1; }
else
    die "sha256sum (coreutils) is needed to verify the files"
fi

all_verified() {
    for f in $files; do
        [ -f "$1/$f" ] || return 1
        [ "$(sha256 "$1/$f")" = "$(expected_sum "$f")" ] || return 1
    done
}
