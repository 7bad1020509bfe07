/*
 * data.h — what the data loaders share: finding a split's files in a data
 * directory (data.c) and the CIFAR-10 binary loader (data_cifar.c) that
 * cnn_dataset_load_dir calls when the directory holds CIFAR-10's files.
 */
#ifndef CNN_DATA_H
#define CNN_DATA_H

#include "cnn.h"

/* 1 when dir/name or dir/name.gz exists (as anything, even a dangling
   link: loading it then says what is wrong), else 0. */
int cnn_data_present(const char *dir, const char *name);

/* dir/name, or dir/name.gz when only that exists, in a new string (*path).
   When neither exists the message names dir/name and, when needs is not
   NULL, ends with it ("; <needs>"); *path is NULL and the status is
   returned (CNN_ERR_IO, CNN_ERR_NOMEM). */
int cnn_data_find(const char *dir, const char *name, const char *needs,
                  char **path);

/* 1 when dir holds any of CIFAR-10's batch files (data_batch_1.bin ...
   data_batch_5.bin, test_batch.bin, each maybe .gz), else 0. */
int cnn_cifar_in_dir(const char *dir);

/* One split of a CIFAR-10 binary directory: "train" is data_batch_1.bin
   to data_batch_5.bin in that order, "test" is test_batch.bin; split is
   already checked to be one of the two.  As cnn_dataset_load_dir. */
int cnn_cifar_load(const char *dir, const char *split, int max_classes,
                   cnn_dataset **out);

#endif /* CNN_DATA_H */
