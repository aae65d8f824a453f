/* manifest.jsonl (see manifest.h): each line is appended with a single
 * write() on an O_APPEND descriptor, so concurrent encoder threads and a
 * kill at any moment leave whole lines, except possibly a torn last one,
 * which the next open cuts. */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cjson/cJSON.h>

#include "io/manifest.h"

static uint64_t key(const char *frame, const char *view) {
  char buf[600];
  int n = snprintf(buf, sizeof buf, "%s/%s", frame, view);
  return XXH3_64bits(buf, n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The key of one line: (frame, view) of a JSON line, or a CSV line's
 * first field; 0 when the line has none. */
static int line_key(const char *line, size_t len, int csv, uint64_t *k) {
  if (csv) {
    char first[4096];
    if (tsr__csv_first(line, len, first, sizeof first) < 0) return 0;
    *k = key(first, "");
    return 1;
  }
  cJSON *j = cJSON_ParseWithLength(line, len);
  const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "frame"), *v = cJSON_GetObjectItemCaseSensitive(j, "view");
  int ok = cJSON_IsString(f) && cJSON_IsString(v);
  if (ok) *k = key(f->valuestring, v->valuestring);
  cJSON_Delete(j);
  return ok;
}

/* Opens a manifest for appending: a torn last line is cut and the keys of
 * the lines present remembered; a CSV manifest (header not NULL) must
 * start with the header line, which a new one gets. */
static tsr_status open_manifest(tsr_context *ctx, const char *path, const char *header, tsr__manifest *m) {
  memset(m, 0, sizeof *m);
  m->fd = -1;
  struct stat sb;
  if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode))
    return tsr__fail(ctx, TSR_E_IO, "%s is a symbolic link; tessera does not write through links in its output "
                                    "folder", path);
  size_t keep = 0;
  if (stat(path, &sb) == 0 && sb.st_size > 0) {
    uint8_t *buf = NULL;
    size_t size = 0;
    tsr_status st = tsr__read_file(ctx, path, &buf, &size);
    if (st) return st;
    keep = size;
    while (keep > 0 && buf[keep - 1] != '\n') keep--;
    if (keep < size && truncate(path, (off_t)keep) != 0) {
      free(buf);
      return tsr__fail(ctx, TSR_E_IO, "%s: cannot cut the torn last line: %s", path, strerror(errno));
    }
    size_t start = 0;
    if (header && keep > 0) {
      size_t hl = strlen(header);
      if (keep < hl + 1 || memcmp(buf, header, hl) || buf[hl] != '\n') {
        free(buf);
        return tsr__fail(ctx, TSR_E_MISMATCH, "%s does not start with the line '%s'", path, header);
      }
      start = hl + 1;
    }
    size_t lines = 0;
    for (size_t i = 0; i < keep; i++) lines += buf[i] == '\n';
    m->seen = malloc((lines + 1) * sizeof *m->seen);
    if (!m->seen) {
      free(buf);
      return tsr__fail(ctx, TSR_E_NOMEM, "out of memory reading %s", path);
    }
    for (size_t i = start; i < keep; i++) {
      if (buf[i] != '\n') continue;
      uint64_t k;
      if (line_key((const char *)buf + start, i - start, header != NULL, &k)) m->seen[m->nseen++] = k;
      start = i + 1;
    }
    qsort(m->seen, m->nseen, sizeof *m->seen, cmp_u64);
    free(buf);
  }
  m->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (m->fd < 0) {
    free(m->seen);
    m->seen = NULL;
    return tsr__fail(ctx, TSR_E_IO, "%s: cannot open: %s", path, strerror(errno));
  }
  pthread_mutex_init(&m->lock, NULL);
  if (header && keep == 0) {
    char line[1024];
    int n = snprintf(line, sizeof line, "%s\n", header);
    if (write(m->fd, line, (size_t)n) != n) {
      int e = errno;
      tsr__manifest_close(m);
      return tsr__fail(ctx, TSR_E_IO, "%s: cannot write: %s", path, strerror(e));
    }
  }
  return TSR_OK;
}

tsr_status tsr__manifest_open(tsr_context *ctx, const char *path, tsr__manifest *m) {
  return open_manifest(ctx, path, NULL, m);
}

tsr_status tsr__manifest_open_csv(tsr_context *ctx, const char *path, const char *header, tsr__manifest *m) {
  return open_manifest(ctx, path, header, m);
}

/* Test hook (TESSERA_FAULT_MANIFEST_AFTER=N): every append after the N-th
 * of this process writes half its line, as on a disk that fills mid-line. */
static int fault_short_write(void) {
  static atomic_int appended;
  const char *env = getenv("TESSERA_FAULT_MANIFEST_AFTER");
  return env && *env && atomic_fetch_add(&appended, 1) >= atoi(env);
}

tsr_status tsr__manifest_add(tsr_context *ctx, tsr__manifest *m, const char *frame, const char *view,
                             const char *line) {
  uint64_t k = key(frame, view);
  if (m->nseen && bsearch(&k, m->seen, m->nseen, sizeof k, cmp_u64)) return TSR_OK;
  size_t n = strlen(line);
  pthread_mutex_lock(&m->lock);
  off_t end = lseek(m->fd, 0, SEEK_END);
  ssize_t w;
  if (fault_short_write()) w = write(m->fd, line, n / 2); /* test hook: a disk that fills mid-line */
  else w = write(m->fd, line, n);
  int e = errno;
  /* A line cut short is taken back, so the next one starts a line of its
   * own (a torn line inside the manifest would hide the lines after it). */
  if (w >= 0 && w != (ssize_t)n && end >= 0 && ftruncate(m->fd, end)) e = errno;
  pthread_mutex_unlock(&m->lock);
  if (w < 0) return tsr__fail(ctx, TSR_E_IO, "manifest.jsonl: write failed: %s", strerror(e));
  if (w != (ssize_t)n)
    return tsr__fail(ctx, TSR_E_IO, "manifest.jsonl: only %zd of %zu bytes written (disk full?); the line was taken back",
                     w, n);
  return TSR_OK;
}

int tsr__manifest_has(const tsr__manifest *m, const char *frame, const char *view) {
  uint64_t k = key(frame, view);
  return m->nseen && bsearch(&k, m->seen, m->nseen, sizeof k, cmp_u64) != NULL;
}

int tsr__csv_field(const char *s, char *out, size_t n) {
  int quote = strpbrk(s, ",\"\r\n") != NULL;
  size_t used = 0;
#define PUTC(c)                      \
  do {                               \
    if (used + 1 < n) out[used] = c; \
    used++;                          \
  } while (0)
  if (quote) PUTC('"');
  for (const char *p = s; *p; p++) {
    if (*p == '"') PUTC('"');
    PUTC(*p);
  }
  if (quote) PUTC('"');
#undef PUTC
  if (n) out[used < n ? used : n - 1] = 0;
  return (int)used;
}

int tsr__csv_first(const char *line, size_t len, char *out, size_t n) {
  size_t i = 0, o = 0;
  if (!n) return -1;
  if (len && line[0] == '"') {
    for (i = 1;; i++) {
      if (i >= len) return -1;
      if (line[i] == '"') {
        if (i + 1 < len && line[i + 1] == '"') i++;
        else {
          i++;
          break;
        }
      }
      if (o + 1 < n) out[o++] = line[i];
    }
    if (i < len && line[i] != ',') return -1;
  } else {
    for (; i < len && line[i] != ','; i++)
      if (o + 1 < n) out[o++] = line[i];
  }
  out[o] = 0;
  return (int)i;
}

void tsr__manifest_close(tsr__manifest *m) {
  if (m->fd >= 0) {
    close(m->fd);
    pthread_mutex_destroy(&m->lock);
  }
  free(m->seen);
  memset(m, 0, sizeof *m);
  m->fd = -1;
}
