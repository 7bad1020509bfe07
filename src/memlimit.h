/*
 * memlimit.h — the machine's physical memory, the bound a model's
 * parameter block is held to before it is allocated, and byte counts
 * written for messages ("146.5 GiB").
 */
#ifndef CNN_MEMLIMIT_H
#define CNN_MEMLIMIT_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of physical memory (sysconf(_SC_PHYS_PAGES) times the page
   size); 0 when the system does not say. */
uint64_t cnn_mem_physical(void);

/* bytes as "512 bytes", "3.2 KiB", "146.5 GiB" or "4.0 TiB" into buf. */
void cnn_mem_format(uint64_t bytes, char *buf, size_t size);

#endif /* CNN_MEMLIMIT_H */
