/*
 * fuzz_textfile.h - hand fuzz input to parsers that read a named file,
 * without a file on disk: the input goes into one anonymous memory file
 * (memfd_create) per process, reused for every input and named by its
 * /proc/self/fd path. Nothing is written to a file system, so nothing is
 * left behind (the scratch file of earlier versions stayed in /tmp) and no
 * input waits for the page cache or the disk.
 */
#ifndef FUZZ_TEXTFILE_H
#define FUZZ_TEXTFILE_H

/* memfd_create: _GNU_SOURCE comes from config.h (-include) */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* libowamp's text reader takes a 1 MiB buffer per file; ASan filling every
 * such allocation with garbage costs three quarters of each run. Reads of
 * uninitialised bytes are not what these targets look for. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "max_malloc_fill_size=0";
}

/* The input as a readable file; its path (static buffer), NULL on failure. */
static const char *fuzz_scratch_file(const uint8_t *data, size_t size)
{
    static char path[64];
    static int fd = -1;
    if (fd < 0) {
        fd = memfd_create("owmesh-fuzz", MFD_CLOEXEC);
        if (fd < 0)
            return NULL;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0)
        return NULL;
    size_t off = 0;
    while (off < size) {
        ssize_t n = pwrite(fd, data + off, size - off, (off_t)off);
        if (n <= 0)
            return NULL;
        off += (size_t)n;
    }
    return path;
}

#endif
