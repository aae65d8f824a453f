/* The pipeline's sources: input lists (files, folders, "-"), and the
 * PPM/PAM stream reader. Video files are read by src/io/video.c. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/codec.h"
#include "pipeline/pipeline.h"

int tsr__is_image_name(const char *n) {
  const char *dot = strrchr(n, '.');
  if (!dot) return 0;
  static const char *const ext[] = {".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".pam"};
  for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
    if (!strcasecmp(dot, ext[i])) return 1;
  return 0;
}

void tsr__stem(const char *path, char *out, size_t n) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  snprintf(out, n, "%s", b);
  char *dot = strrchr(out, '.');
  if (dot && dot != out) *dot = 0;
}

typedef struct {
  char **v;
  int n, cap;
} strlist;

static int push(strlist *l, const char *s) {
  if (l->n == l->cap) {
    int cap = l->cap ? l->cap * 2 : 64;
    char **g = realloc(l->v, (size_t)cap * sizeof *g);
    if (!g) return -1;
    l->v = g;
    l->cap = cap;
  }
  return (l->v[l->n++] = strdup(s)) ? 0 : -1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Adds a folder's images and videos, sorted by name; sub-folders only when
 * recursive. */
static tsr_status add_dir(tsr_context *ctx, strlist *out, const char *dir, int recursive) {
  DIR *d = opendir(dir);
  if (!d) return tsr__fail(ctx, TSR_E_IO, "%s: cannot open folder: %s", dir, strerror(errno));
  strlist names = {0};
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d)) && !rc)
    if (e->d_name[0] != '.') rc = push(&names, e->d_name);
  closedir(d);
  if (names.n) qsort(names.v, (size_t)names.n, sizeof *names.v, cmp_str);
  tsr_status st = rc ? TSR_E_NOMEM : TSR_OK;
  for (int i = 0; i < names.n && !st; i++) {
    size_t n = strlen(dir) + strlen(names.v[i]) + 2;
    char *p = malloc(n);
    if (!p) {
      st = TSR_E_NOMEM;
      break;
    }
    snprintf(p, n, "%s/%s", dir, names.v[i]);
    struct stat sb;
    if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
      if (recursive) st = add_dir(ctx, out, p, 1);
    } else if (tsr__is_image_name(names.v[i]) || tsr__is_video_name(names.v[i])) {
      if (push(out, p)) st = TSR_E_NOMEM;
    }
    free(p);
  }
  for (int i = 0; i < names.n; i++) free(names.v[i]);
  free(names.v);
  if (st == TSR_E_NOMEM) tsr__fail(ctx, st, "out of memory listing %s", dir);
  return st;
}

typedef struct {
  char stem[256];
  const char *path;
} named_input;

static int cmp_stem(const void *a, const void *b) {
  return strcmp(((const named_input *)a)->stem, ((const named_input *)b)->stem);
}

/* Two inputs with one stem would write the same outputs; frame_NNNNNN
 * names belong to stdin. Sorted once, so long lists start at once. */
static tsr_status check_stems(tsr_context *ctx, char *const *in, int n) {
  int stdin_count = 0, m = 0;
  for (int i = 0; i < n; i++) stdin_count += !strcmp(in[i], "-");
  if (stdin_count > 1) return tsr__fail(ctx, TSR_E_INVALID, "'-' (stdin) given more than once");
  named_input *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
  if (!v) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  tsr_status st = TSR_OK;
  for (int i = 0; i < n && !st; i++) {
    if (!strcmp(in[i], "-")) continue;
    tsr__stem(in[i], v[m].stem, sizeof v[m].stem);
    v[m].path = in[i];
    if (stdin_count && !strncmp(v[m].stem, "frame_", 6))
      st = tsr__fail(ctx, TSR_E_INVALID, "%s: its name could clash with frames read from stdin", in[i]);
    m++;
  }
  if (!st && m > 1) qsort(v, (size_t)m, sizeof *v, cmp_stem);
  for (int i = 1; i < m && !st; i++)
    if (!strcmp(v[i - 1].stem, v[i].stem))
      st = tsr__fail(ctx, TSR_E_INVALID, "%s and %s would write the same outputs (both named %s)", v[i - 1].path,
                     v[i].path, v[i].stem);
  free(v);
  return st;
}

tsr_status tsr__inputs_expand(tsr_context *ctx, const char *const *inputs, int n, int recursive, char ***out,
                              int *nout) {
  strlist l = {0};
  tsr_status st = TSR_OK;
  for (int i = 0; i < n && !st; i++) {
    struct stat sb;
    if (strcmp(inputs[i], "-") && stat(inputs[i], &sb) == 0 && S_ISDIR(sb.st_mode))
      st = add_dir(ctx, &l, inputs[i], recursive);
    else if (push(&l, inputs[i]))
      st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  }
  if (!st) st = check_stems(ctx, l.v, l.n);
  if (st) {
    tsr__inputs_free(l.v, l.n);
    return st;
  }
  *out = l.v;
  *nout = l.n;
  return TSR_OK;
}

void tsr__inputs_free(char **list, int n) {
  for (int i = 0; i < n; i++) free(list[i]);
  free(list);
}

/* ---- the PPM/PAM stream ---------------------------------------------------- */
/* Reads what is available (at least one byte, or the end), never more than
 * want: the reader must not sit on bytes of a frame that has arrived while
 * asking for the next one. */
static tsr_status fill(tsr_context *ctx, tsr__pnm_stream *s, size_t want, void (*waiting)(void *, int), void *arg) {
  if (s->len + want > s->cap) {
    size_t cap = s->cap ? s->cap : 1 << 16;
    while (cap < s->len + want) cap *= 2;
    uint8_t *g = realloc(s->buf, cap);
    if (!g) return tsr__fail(ctx, TSR_E_NOMEM, "stdin: out of memory for a frame");
    s->buf = g;
    s->cap = cap;
  }
  struct pollfd pfd = {s->fd, POLLIN, 0};
  if (waiting && poll(&pfd, 1, 0) == 0) { /* nothing to read now: say so while blocked */
    waiting(arg, 1);
    int r;
    while ((r = poll(&pfd, 1, 200)) == 0 || (r < 0 && errno == EINTR))
      if (s->cancel && tsr__cancelled(s->cancel)) break;
    waiting(arg, 0);
  }
  if (s->cancel && tsr__cancelled(s->cancel)) return TSR_E_CANCELLED;
  ssize_t r;
  do r = read(s->fd, s->buf + s->len, want);
  while (r < 0 && errno == EINTR);
  if (r < 0) return tsr__fail(ctx, TSR_E_IO, "stdin: read failed: %s", strerror(errno));
  if (r == 0) s->eof = 1;
  s->len += (size_t)r;
  return TSR_OK;
}

tsr_status tsr__pnm_stream_next(tsr_context *ctx, tsr__pnm_stream *s, const char *name, tsr_image **img,
                                void (*waiting)(void *, int), void *arg) {
  *img = NULL;
  size_t header = 0, data = 0;
  tsr_status st;
  /* The header, a few bytes at a time. */
  for (;;) {
    st = s->len ? tsr__pnm_frame_size(ctx, s->buf, s->len, name, &header, &data) : TSR_E_EMPTY;
    if (st != TSR_E_EMPTY) break;
    if (s->eof) {
      if (!s->len) return TSR_OK; /* a clean end between frames */
      return tsr__fail(ctx, TSR_E_CORRUPT, "%s: the stream ends inside a frame header", name);
    }
    if (s->len > 4096)
      return tsr__fail(ctx, TSR_E_CORRUPT, "stdin: no PPM/PGM/PAM header in the first 4096 bytes of %s", name);
    if ((st = fill(ctx, s, 64, waiting, arg))) return st;
  }
  if (st) return st;
  /* Then exactly the samples the header announced. */
  size_t total = header + data;
  while (s->len < total && !s->eof)
    if ((st = fill(ctx, s, total - s->len, waiting, arg))) return st;
  size_t used = 0;
  if ((st = tsr__pnm_decode(ctx, s->buf, s->len, name, img, &used))) return st;
  memmove(s->buf, s->buf + used, s->len - used);
  s->len -= used;
  return TSR_OK;
}

void tsr__pnm_stream_free(tsr__pnm_stream *s) {
  free(s->buf);
  memset(s, 0, sizeof *s);
}
