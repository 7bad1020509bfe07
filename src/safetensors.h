/*
 * safetensors.h — reading and writing the safetensors format for weights
 * and checkpoints: a list of named float32 / int32 tensors plus string
 * metadata, with zlib's CRC-32 of the data section and of the metadata
 * itself in the metadata.
 */
#ifndef CNN_SAFETENSORS_H
#define CNN_SAFETENSORS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum st_dtype { ST_F32, ST_I32 } st_dtype;

/* One tensor: its name, dtype and shape, and where its values live in
   memory (read from there when writing, stored there when reading). */
typedef struct st_tensor {
    char name[64];
    st_dtype dtype;
    int ndim;
    int shape[4];
    size_t count;     /* elements: the product of the shape */
    void *data;       /* count floats or int32s */
} st_tensor;

/*
 * Write the tensors back to back in list order, with a header holding them
 * and meta (a JSON object of strings, consumed; "crc32" and "meta_crc32"
 * are added), to path atomically (src/atomic.c).
 * @return CNN_OK, CNN_ERR_IO, CNN_ERR_NOMEM
 */
int cnn_st_write(const char *path, const st_tensor *t, int n, json_t *meta);

/*
 * Read the header of path (a regular file: anything else is refused, see
 * cnn_open_input): *meta receives its "__metadata__" object (a new
 * reference; an empty object when there is none), checked against its
 * "meta_crc32" when it has one; *data_size (when not NULL) the bytes after
 * the header.
 * @return CNN_OK, CNN_ERR_IO, CNN_ERR_FORMAT, CNN_ERR_NOMEM
 */
int cnn_st_read_metadata(const char *path, json_t **meta, uint64_t *data_size);

/*
 * Read tensors t[0..n) from path.  Each must be present once with its dtype
 * and shape; other tensors are an error unless allow_extra (then they are
 * only checked for sound offsets).  The header, the offsets (no overlaps,
 * the data section exactly covered), both checksums and the values (no
 * NaN or infinity in an F32 tensor of t: CNN_ERR_FORMAT naming the tensor
 * and the first bad index) are all validated before anything is stored
 * into t[i].data.  expect_meta, when not NULL, is
 * the metadata an earlier cnn_st_read_metadata of path gave: the file's must
 * equal it (else the file was replaced in between, CNN_ERR_FORMAT).
 * @return CNN_OK, CNN_ERR_IO, CNN_ERR_FORMAT, CNN_ERR_MISMATCH, CNN_ERR_NOMEM
 */
int cnn_st_read(const char *path, st_tensor *t, int n, int allow_extra,
            const json_t *expect_meta);

#endif /* CNN_SAFETENSORS_H */
