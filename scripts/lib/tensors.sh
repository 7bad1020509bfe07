# tensors.sh — sourced by same-bits.sh and thread-bits.sh: tensors FILE
# prints the sha256 of a safetensors file's tensor bytes (everything after
# its header; the metadata holds no trained value).
tensors() {
    python3 - "$1" <<'EOF'
import struct, sys, hashlib
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
print(hashlib.sha256(b[8 + n:]).hexdigest())
EOF
}
