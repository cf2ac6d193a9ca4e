/* fuzz_textfile.h - hand fuzz input to parsers that read a named file. */
#ifndef FUZZ_TEXTFILE_H
#define FUZZ_TEXTFILE_H

#include <stdio.h>
#include <unistd.h>

/* Write data to a per-process scratch file and return its path (static buffer). */
static const char *fuzz_scratch_file(const uint8_t *data, size_t size)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/owmesh-fuzz-%ld.txt", (long)getpid());
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return NULL;
    fwrite(data, 1, size, fp);
    fclose(fp);
    return path;
}

#endif
