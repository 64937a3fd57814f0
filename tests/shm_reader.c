/* A stand-alone reader of a fastfeed shared-memory segment, written against docs/shm.md
 * and include/ff_shm.h only (no Python). tests/test_shm_mp.py compiles it with the system
 * cc and checks that it agrees with fastfeed.shm.Reader.
 *
 * usage: shm_reader NAME VENUE SYMBOL   -> one JSON object on stdout; exit 2 if absent */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ff_shm.h"

int main(int argc, char** argv) {
    char path[512];
    struct stat st;
    const ff_shm_header* h;
    void* base;
    uint32_t i, n, slot = 0xFFFFFFFFu;
    int fd, k;
    if (argc != 4) { fprintf(stderr, "usage: %s NAME VENUE SYMBOL\n", argv[0]); return 64; }
    snprintf(path, sizeof path, "/dev/shm/%s", argv[1]);
    fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0) { perror(path); return 1; }
    base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (base == MAP_FAILED) { perror("mmap"); return 1; }
    h = (const ff_shm_header*)base;
    if ((uint64_t)st.st_size < FF_SHM_HEADER_SIZE || FF_LOAD_ACQ(&h->magic) != FF_SHM_MAGIC
        || h->version != FF_SHM_VERSION || h->total_size > (uint64_t)st.st_size) {
        fprintf(stderr, "%s: not a fastfeed segment of layout %u\n", path, FF_SHM_VERSION);
        return 1;
    }
    n = FF_LOAD_ACQ(&h->n_books);
    for (i = 0; i < n && i < h->capacity; i++) {
        const ff_shm_dir_entry* e = ff_shm_dir(base, i);
        if (strncmp(e->venue, argv[2], FF_SHM_VENUE_LEN) == 0
            && strncmp(e->symbol, argv[3], FF_SHM_SYMBOL_LEN) == 0) { slot = e->slot; break; }
    }
    if (slot >= h->capacity) { fprintf(stderr, "%s:%s not published\n", argv[2], argv[3]); return 2; }
    {
        const ff_shm_slot* s = ff_shm_slot_at(base, slot);
        uint32_t d = h->depth;
        int64_t levels[4 * 4096];
        ff_shm_view v;
        if (d > 4096) return 1;
        while (!ff_shm_try_read(s, d, &v, levels, 1)) { /* write in progress: retry */ }
        if (ff_shm_view_checksum(&v, d, levels) != v.checksum) { fprintf(stderr, "bad checksum\n"); return 3; }
        printf("{\"generation\": %llu, \"pid\": %lld, \"state\": %d, \"update_id\": %lld, "
               "\"updates\": %llu, \"price_decimals\": %d, \"size_decimals\": %d, "
               "\"exchange_ts_ns\": %lld, \"recv_ts_ns\": %lld, \"bids\": [",
               (unsigned long long)h->generation, (long long)h->pid, v.state,
               (long long)v.update_id, (unsigned long long)v.updates, v.price_decimals,
               v.size_decimals, (long long)v.exchange_ts_ns, (long long)v.recv_ts_ns);
        for (k = 0; k < v.n_bids; k++)
            printf("%s[%lld, %lld]", k ? ", " : "", (long long)levels[2 * k],
                   (long long)levels[2 * k + 1]);
        printf("], \"asks\": [");
        for (k = 0; k < v.n_asks; k++)
            printf("%s[%lld, %lld]", k ? ", " : "", (long long)levels[2 * d + 2 * k],
                   (long long)levels[2 * d + 2 * k + 1]);
        printf("]}\n");
    }
    return 0;
}
