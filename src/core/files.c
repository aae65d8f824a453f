/* Files: whole reads, and outputs that appear whole or not at all (written
 * under a temporary name in the same folder, then renamed), plus the folder
 * creation every writer needs. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/internal.h"

tsr_status tsr__read_file(tsr_context *ctx, const char *path, uint8_t **buf, size_t *size) {
  *buf = NULL;
  *size = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return tsr__fail(ctx, TSR_E_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode)) {
    fclose(f);
    return tsr__fail(ctx, TSR_E_IO, "%s: not a regular file", path);
  }
  if (sb.st_size == 0) {
    fclose(f);
    return tsr__fail(ctx, TSR_E_EMPTY, "%s: file is empty (0 bytes)", path);
  }
  uint8_t *b = malloc((size_t)sb.st_size);
  if (!b) {
    fclose(f);
    return tsr__fail(ctx, TSR_E_NOMEM, "%s: cannot allocate %lld bytes", path, (long long)sb.st_size);
  }
  size_t n = fread(b, 1, (size_t)sb.st_size, f);
  int e = errno;
  fclose(f);
  if (n != (size_t)sb.st_size) {
    free(b);
    return tsr__fail(ctx, TSR_E_IO, "%s: read failed: %s", path, strerror(e));
  }
  *buf = b;
  *size = n;
  return TSR_OK;
}

tsr_status tsr__atomic_open(tsr_context *ctx, const char *path, tsr__atomic_file *af) {
  memset(af, 0, sizeof *af);
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
  size_t n = strlen(path) + 32;
  af->tmp_path = malloc(n);
  af->path = strdup(path);
  if (!af->tmp_path || !af->path) {
    tsr__atomic_abort(af);
    return TSR_E_NOMEM;
  }
  snprintf(af->tmp_path, n, "%.*s.%s.tmp.XXXXXX", (int)dirlen, path, path + dirlen);
  int fd = mkstemp(af->tmp_path);
  if (fd < 0) {
    int e = errno;
    free(af->tmp_path);
    af->tmp_path = NULL;
    tsr__atomic_abort(af);
    return tsr__fail(ctx, TSR_E_IO, "%s: cannot create: %s", path, strerror(e));
  }
  fchmod(fd, 0644);
  af->fp = fdopen(fd, "wb");
  if (!af->fp) {
    close(fd);
    tsr__atomic_abort(af);
    return tsr__fail(ctx, TSR_E_IO, "%s: cannot open: %s", path, strerror(errno));
  }
  return TSR_OK;
}

tsr_status tsr__atomic_commit(tsr_context *ctx, tsr__atomic_file *af) {
  int bad = ferror(af->fp);
  int e = errno;
  if (fclose(af->fp)) {
    bad = 1;
    e = errno;
  }
  af->fp = NULL;
  if (!bad && rename(af->tmp_path, af->path) == 0) {
    free(af->tmp_path);
    free(af->path);
    memset(af, 0, sizeof *af);
    return TSR_OK;
  }
  if (!bad) e = errno;
  tsr_status st = tsr__fail(ctx, TSR_E_IO, "%s: write failed: %s", af->path, strerror(e));
  tsr__atomic_abort(af);
  return st;
}

void tsr__atomic_abort(tsr__atomic_file *af) {
  if (af->fp) fclose(af->fp);
  if (af->tmp_path) unlink(af->tmp_path);
  free(af->tmp_path);
  free(af->path);
  memset(af, 0, sizeof *af);
}

/* Test hook (TESSERA_FAULT_WRITE_LIMIT=BYTES): a disk that fills up once
 * this process has written that many bytes of files: the write past it
 * fails with ENOSPC, as on a full disk, where no tmpfs can be mounted. */
static int disk_full(size_t n) {
  static atomic_llong written;
  const char *env = getenv("TESSERA_FAULT_WRITE_LIMIT");
  if (!env || !*env) return 0;
  long long limit = atoll(env), after = atomic_fetch_add(&written, (long long)n) + (long long)n;
  return after > limit;
}

tsr_status tsr__write_atomic(tsr_context *ctx, const char *path, const void *data, size_t n) {
  tsr__atomic_file af;
  tsr_status st = tsr__atomic_open(ctx, path, &af);
  if (st) return st;
  errno = 0;
  if (disk_full(n)) {
    /* a part of the file was written before the disk filled */
    if (fwrite(data, 1, n / 2, af.fp)) fflush(af.fp);
    tsr__atomic_abort(&af);
    return tsr__fail(ctx, TSR_E_IO, "%s: write failed: %s", path, strerror(ENOSPC));
  }
  if (fwrite(data, 1, n, af.fp) != n || fflush(af.fp)) {
    int e = errno;
    tsr__atomic_abort(&af);
    return tsr__fail(ctx, TSR_E_IO, "%s: write failed: %s", path, e ? strerror(e) : "short write");
  }
  return tsr__atomic_commit(ctx, &af);
}

int tsr__mkdirs(const char *path) {
  char tmp[4096];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s", path) >= sizeof tmp) return -1;
  for (char *p = tmp + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
      *p = '/';
    }
  return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

tsr_status tsr__mkdirs_inside(tsr_context *ctx, const char *outdir, const char *sub) {
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", outdir, sub) >= sizeof path)
    return tsr__fail(ctx, TSR_E_INVALID, "%s/%s: path too long", outdir, sub);
  if (tsr__mkdirs(outdir)) return tsr__fail(ctx, TSR_E_IO, "%s: cannot create: %s", outdir, strerror(errno));
  /* each folder below outdir in turn: checked, then made */
  for (char *p = path + strlen(outdir) + 1;; p++) {
    if (*p && *p != '/') continue;
    char c = *p;
    *p = 0;
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode))
      return tsr__fail(ctx, TSR_E_IO, "%s is a symbolic link; tessera does not write through links in its output "
                                      "folder", path);
    if (mkdir(path, 0755) && errno != EEXIST) return tsr__fail(ctx, TSR_E_IO, "%s: cannot create: %s", path, strerror(errno));
    *p = c;
    if (!c) break;
  }
  return TSR_OK;
}

tsr_status tsr__write_json(tsr_context *ctx, const char *path, const cJSON *json) {
  char *text = cJSON_Print(json);
  if (!text) return tsr__fail(ctx, TSR_E_NOMEM, "%s: out of memory", path);
  size_t n = strlen(text);
  char *line = malloc(n + 2);
  tsr_status st = line ? TSR_OK : tsr__fail(ctx, TSR_E_NOMEM, "%s: out of memory", path);
  if (line) {
    memcpy(line, text, n);
    line[n] = '\n';
    if (!strcmp(path, "-")) { /* standard output */
      if (fwrite(line, 1, n + 1, stdout) != n + 1 || fflush(stdout))
        st = tsr__fail(ctx, TSR_E_IO, "standard output: %s", strerror(errno));
    } else {
      st = tsr__write_atomic(ctx, path, line, n + 1);
    }
    free(line);
  }
  cJSON_free(text);
  return st;
}
