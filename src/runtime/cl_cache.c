/* On-disk cache of OpenCL program binaries.
 *
 * One file per key, <dir>/<key>.bin: a 32-byte header (magic, key, payload
 * size, XXH3 of the payload) and the driver's binary. Entries are written to
 * a temporary file and renamed, so concurrent processes never see a partial
 * entry; an entry that fails any check reads as a miss and is rebuilt. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "runtime/cl.h"

static const char k_magic[8] = {'T', 'S', 'R', 'C', 'L', 'B', '0', '1'};

typedef struct {
  char magic[8];
  uint64_t key, size, hash;
} cache_header;

void tsr__cache_init(tsr__cache *c) {
  memset(c, 0, sizeof *c);
  const char *off = getenv("TESSERA_NO_CACHE");
  if (off && *off && strcmp(off, "0")) return;
  const char *dir = getenv("TESSERA_CACHE_DIR");
  const char *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  int n;
  if (dir && *dir)
    n = snprintf(c->dir, sizeof c->dir, "%s", dir);
  else if (xdg && *xdg)
    n = snprintf(c->dir, sizeof c->dir, "%s/tessera", xdg);
  else if (home && *home)
    n = snprintf(c->dir, sizeof c->dir, "%s/.cache/tessera", home);
  else
    return;
  if (n <= 0 || (size_t)n >= sizeof c->dir - 32) return;
  tsr__mkdirs(c->dir); /* failure shows when the first entry cannot be written */
  c->enabled = access(c->dir, W_OK) == 0;
}

uint64_t tsr__cache_key(const char *source, const char *options, const char *platform,
                        const char *device, const char *driver) {
  XXH3_state_t *st = XXH3_createState();
  if (!st) return 0;
  XXH3_64bits_reset(st);
  const char *parts[] = {source, options, platform, device, driver};
  for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
    const char *p = parts[i] ? parts[i] : "";
    /* Length-prefixed, so ("ab","c") and ("a","bc") differ. */
    uint64_t len = strlen(p);
    XXH3_64bits_update(st, &len, sizeof len);
    XXH3_64bits_update(st, p, len);
  }
  uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return h;
}

void tsr__cache_path(const tsr__cache *c, uint64_t key, char *path, size_t len) {
  snprintf(path, len, "%s/%016llx.bin", c->dir, (unsigned long long)key);
}

uint8_t *tsr__cache_get(const tsr__cache *c, uint64_t key, size_t *size) {
  if (!c->enabled) return NULL;
  char path[4200];
  tsr__cache_path(c, key, path, sizeof path);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  cache_header h;
  uint8_t *bin = NULL;
  if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, k_magic, 8) || h.key != key || h.size == 0 ||
      h.size > ((uint64_t)1 << 31))
    goto miss;
  bin = malloc(h.size);
  if (!bin || fread(bin, 1, h.size, f) != h.size || fgetc(f) != EOF || XXH3_64bits(bin, h.size) != h.hash)
    goto miss;
  fclose(f);
  *size = h.size;
  return bin;
miss:
  free(bin);
  fclose(f);
  return NULL;
}

void tsr__cache_put(const tsr__cache *c, uint64_t key, const uint8_t *bin, size_t size) {
  if (!c->enabled || !bin || !size) return;
  char path[4200], tmp[4300];
  tsr__cache_path(c, key, path, sizeof path);
  snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) return;
  cache_header h;
  memcpy(h.magic, k_magic, 8);
  h.key = key;
  h.size = size;
  h.hash = XXH3_64bits(bin, size);
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    close(fd);
    unlink(tmp);
    return;
  }
  int ok = fwrite(&h, sizeof h, 1, f) == 1 && fwrite(bin, 1, size, f) == size;
  ok = (fclose(f) == 0) && ok;
  if (!ok || chmod(tmp, 0644) || rename(tmp, path)) unlink(tmp);
}
