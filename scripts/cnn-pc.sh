#!/bin/sh
# cnn-pc.sh PREFIX VERSION MPI_LIBS DIR — write pkg-config's files for an
# install under PREFIX into DIR:
#   cnn.pc         links -lcnn, the shared library where it is installed
#                  (libcnn.so records its own dependencies, so they are
#                  private: `pkg-config --static` adds them);
#   cnn-static.pc  links libcnn.a by its path, so the program carries the
#                  library and runs without LD_LIBRARY_PATH; its
#                  dependencies (hwloc, jansson, zlib, OpenMP, libm, MPI
#                  when built with it) are always on its link line, as
#                  the shared libraries they are here: hwloc's own
#                  Libs.private (-ludev) would need libudev's development
#                  files, which a static libcnn does not.
set -eu
prefix=$1 version=$2 mpi_libs=$3 dir=$4
deps="-fopenmp -lm${mpi_libs:+ $mpi_libs}"
shared_deps=$(pkg-config --libs hwloc jansson zlib 2>/dev/null || echo -lhwloc -ljansson -lz)
write() { # NAME DESCRIPTION LIBS [LIBS.PRIVATE]
    {
        printf 'prefix=%s\nexec_prefix=${prefix}\nlibdir=${exec_prefix}/lib\n' "$prefix"
        printf 'includedir=${prefix}/include\n\n'
        printf 'Name: %s\nDescription: %s\nVersion: %s\n' "$1" "$2" "$version"
        if [ -n "${4:-}" ]; then printf 'Requires.private: hwloc jansson zlib\n'; fi
        printf 'Cflags: -I${includedir}\nLibs: %s\n' "$3"
        if [ -n "${4:-}" ]; then printf 'Libs.private: %s\n' "$4"; fi
    } >"$dir/$1.pc.tmp"
    mv "$dir/$1.pc.tmp" "$dir/$1.pc"
}
write cnn "cnn: a training engine for small CNNs on multicore CPUs" '-L${libdir} -lcnn' "$deps"
write cnn-static "cnn, linked statically (libcnn.a)" \
    '${libdir}/libcnn.a '"$deps $(echo $shared_deps)"
