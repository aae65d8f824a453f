/* tessera bench results: the versioned JSON file (written and read back),
 * the terminal table, the comparison with a base file and the HTML page.
 * The schema is documented in bench/README.md. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/bench/bench.h"
#include "tsr_git.h"

static const char *state_name(tsr__bench_state s) {
  static const char *n[] = {"ok", "FAILED", "error", "n/a"};
  return n[s];
}

/* ---- JSON out ------------------------------------------------------------- */
static void add_opt_number(cJSON *o, const char *key, double v) {
  if (v < 0) cJSON_AddNullToObject(o, key);
  else cJSON_AddNumberToObject(o, key, v);
}

cJSON *tsr__bench_to_json(const tsr__bench_report *rep) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "schema", TSR_BENCH_SCHEMA);
  cJSON_AddNumberToObject(root, "schema_version", TSR_BENCH_SCHEMA_VERSION);
  cJSON *t = cJSON_AddObjectToObject(root, "tessera");
  cJSON_AddStringToObject(t, "version", rep->tessera_version[0] ? rep->tessera_version : TSR_VERSION);
  cJSON_AddStringToObject(t, "git", rep->git[0] ? rep->git : TSR_GIT_REVISION);
  cJSON_AddStringToObject(root, "created", rep->created);
  cJSON *h = cJSON_AddObjectToObject(root, "host");
  cJSON_AddStringToObject(h, "cpu", rep->host.cpu);
  cJSON_AddNumberToObject(h, "cores", rep->host.cores);
  cJSON_AddNumberToObject(h, "ram_bytes", (double)rep->host.ram);
  cJSON_AddStringToObject(h, "os", rep->host.os);
  cJSON *s = cJSON_AddObjectToObject(root, "settings");
  cJSON_AddStringToObject(s, "suite", rep->suite);
  cJSON_AddNumberToObject(s, "repeat", rep->repeat);
  cJSON_AddNumberToObject(s, "target_s", rep->target_s);
  cJSON_AddNumberToObject(s, "threads", rep->threads);
  cJSON *devs = cJSON_AddArrayToObject(root, "devices");
  for (int i = 0; i < rep->ndev; i++) {
    const tsr__bench_device *bd = &rep->dev[i];
    const tsr_device_info *d = &bd->dev;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToArray(devs, j);
    tsr__device_identity_json(d, j);
    cJSON *wls = cJSON_AddArrayToObject(j, "workloads");
    for (int k = 0; k < bd->nwl; k++) {
      const tsr__bench_workload *w = &bd->wl[k];
      cJSON *o = cJSON_CreateObject();
      cJSON_AddItemToArray(wls, o);
      cJSON_AddStringToObject(o, "name", w->name);
      cJSON_AddStringToObject(o, "status", state_name(w->state));
      if (w->message[0]) cJSON_AddStringToObject(o, "message", w->message);
      cJSON_AddStringToObject(o, "size", w->size);
      cJSON_AddStringToObject(o, "timing", w->timing);
      cJSON_AddNumberToObject(o, "iterations", w->iterations);
      cJSON_AddNumberToObject(o, "batch", w->batch);
      cJSON_AddNumberToObject(o, "device_bytes", (double)w->device_bytes);
      add_opt_number(o, "build_s", w->build_s);
      if (w->build_s >= 0) cJSON_AddBoolToObject(o, "build_cached", w->build_cached);
      add_opt_number(o, "first_launch_s", w->first_launch_s);
      if (w->parity_diff < 0) {
        cJSON_AddNullToObject(o, "parity");
      } else {
        cJSON *p = cJSON_AddObjectToObject(o, "parity");
        cJSON_AddStringToObject(p, "reference", "cpu");
        cJSON_AddNumberToObject(p, "max_abs_diff", w->parity_diff);
        cJSON_AddNumberToObject(p, "tolerance", w->tolerance);
        cJSON_AddBoolToObject(p, "ok", w->parity_diff <= w->tolerance);
      }
      cJSON *figs = cJSON_AddArrayToObject(o, "figures");
      for (int f = 0; f < w->nfig; f++) {
        const tsr__bench_figure *g = &w->fig[f];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddItemToArray(figs, x);
        cJSON_AddStringToObject(x, "name", g->name);
        cJSON_AddStringToObject(x, "label", g->label);
        cJSON_AddStringToObject(x, "unit", g->unit);
        cJSON_AddStringToObject(x, "better", g->higher_is_better ? "higher" : "lower");
        cJSON_AddNumberToObject(x, "median", g->median);
        cJSON_AddNumberToObject(x, "min", g->min);
        cJSON_AddNumberToObject(x, "max", g->max);
        cJSON_AddNumberToObject(x, "n", g->n);
      }
    }
  }
  return root;
}

/* ---- JSON in -------------------------------------------------------------- */
typedef struct {
  char *err;
  size_t errlen;
  int bad;
} reader;

static void bad(reader *r, const char *fmt, const char *what) {
  if (!r->bad) snprintf(r->err, r->errlen, fmt, what);
  r->bad = 1;
}

static const cJSON *member(reader *r, const cJSON *o, const char *key, int (*is)(const cJSON *), const char *where) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!m || !is(m)) {
    char what[128];
    snprintf(what, sizeof what, "%s.%s", where, key);
    bad(r, "'%s' is missing or of the wrong type", what);
    return NULL;
  }
  return m;
}

static void get_str(reader *r, const cJSON *o, const char *key, const char *where, char *out, size_t n) {
  const cJSON *m = member(r, o, key, cJSON_IsString, where);
  if (m) snprintf(out, n, "%s", m->valuestring);
}

static double get_num(reader *r, const cJSON *o, const char *key, const char *where) {
  const cJSON *m = member(r, o, key, cJSON_IsNumber, where);
  return m ? m->valuedouble : 0;
}

/* A number or null (-1). */
static double get_opt(reader *r, const cJSON *o, const char *key, const char *where) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);
  if (m && cJSON_IsNull(m)) return -1;
  return get_num(r, o, key, where);
}

static int is_obj_or_null(const cJSON *j) { return cJSON_IsObject(j) || cJSON_IsNull(j); }

static void read_workload(reader *r, const cJSON *o, tsr__bench_workload *w) {
  memset(w, 0, sizeof *w);
  get_str(r, o, "name", "workload", w->name, sizeof w->name);
  char status[16] = "";
  get_str(r, o, "status", w->name, status, sizeof status);
  w->state = !strcmp(status, "ok") ? TSR_BENCH_OK : !strcmp(status, "FAILED") ? TSR_BENCH_FAILED
             : !strcmp(status, "n/a") ? TSR_BENCH_NA : TSR_BENCH_ERROR;
  if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "message")))
    get_str(r, o, "message", w->name, w->message, sizeof w->message);
  get_str(r, o, "size", w->name, w->size, sizeof w->size);
  get_str(r, o, "timing", w->name, w->timing, sizeof w->timing);
  w->iterations = (int)get_num(r, o, "iterations", w->name);
  w->batch = (int)get_num(r, o, "batch", w->name);
  w->device_bytes = (uint64_t)get_num(r, o, "device_bytes", w->name);
  w->build_s = get_opt(r, o, "build_s", w->name);
  w->build_cached = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "build_cached"));
  w->first_launch_s = get_opt(r, o, "first_launch_s", w->name);
  const cJSON *p = member(r, o, "parity", is_obj_or_null, w->name);
  w->parity_diff = w->tolerance = -1;
  if (p && cJSON_IsObject(p)) {
    w->parity_diff = get_num(r, p, "max_abs_diff", "parity");
    w->tolerance = get_num(r, p, "tolerance", "parity");
  }
  const cJSON *figs = member(r, o, "figures", cJSON_IsArray, w->name), *x;
  cJSON_ArrayForEach(x, figs) {
    if (w->nfig >= TSR_BENCH_MAX_FIGURES) break;
    tsr__bench_figure *g = &w->fig[w->nfig++];
    get_str(r, x, "name", "figure", g->name, sizeof g->name);
    get_str(r, x, "label", g->name, g->label, sizeof g->label);
    get_str(r, x, "unit", g->name, g->unit, sizeof g->unit);
    char better[16] = "";
    get_str(r, x, "better", g->name, better, sizeof better);
    if (strcmp(better, "higher") && strcmp(better, "lower")) bad(r, "figure '%s': 'better' is not higher|lower", g->name);
    g->higher_is_better = !strcmp(better, "higher");
    g->median = get_num(r, x, "median", g->name);
    g->min = get_num(r, x, "min", g->name);
    g->max = get_num(r, x, "max", g->name);
    g->n = (int)get_num(r, x, "n", g->name);
    if (!r->bad && !(g->min <= g->median && g->median <= g->max)) bad(r, "figure '%s': not min <= median <= max", g->name);
  }
}

tsr_status tsr__bench_from_json(const cJSON *root, tsr__bench_report *rep, char *err, size_t errlen) {
  memset(rep, 0, sizeof *rep);
  reader r = {err, errlen, 0};
  char schema[32] = "";
  if (!cJSON_IsObject(root)) {
    snprintf(err, errlen, "not a JSON object");
    return TSR_E_FORMAT;
  }
  get_str(&r, root, "schema", "", schema, sizeof schema);
  if (!r.bad && strcmp(schema, TSR_BENCH_SCHEMA)) bad(&r, "schema is '%s', not tessera-bench", schema);
  rep->schema_version = (int)get_num(&r, root, "schema_version", "");
  if (!r.bad && (rep->schema_version < 1 || rep->schema_version > TSR_BENCH_SCHEMA_VERSION)) {
    snprintf(err, errlen, "schema_version %d is not one this tessera reads (1..%d)", rep->schema_version,
             TSR_BENCH_SCHEMA_VERSION);
    return TSR_E_FORMAT;
  }
  const cJSON *t = member(&r, root, "tessera", cJSON_IsObject, "");
  if (t) {
    get_str(&r, t, "version", "tessera", rep->tessera_version, sizeof rep->tessera_version);
    get_str(&r, t, "git", "tessera", rep->git, sizeof rep->git);
  }
  get_str(&r, root, "created", "", rep->created, sizeof rep->created);
  const cJSON *h = member(&r, root, "host", cJSON_IsObject, "");
  if (h) {
    get_str(&r, h, "cpu", "host", rep->host.cpu, sizeof rep->host.cpu);
    rep->host.cores = (int)get_num(&r, h, "cores", "host");
    rep->host.ram = (uint64_t)get_num(&r, h, "ram_bytes", "host");
    get_str(&r, h, "os", "host", rep->host.os, sizeof rep->host.os);
  }
  const cJSON *s = member(&r, root, "settings", cJSON_IsObject, "");
  if (s) {
    get_str(&r, s, "suite", "settings", rep->suite, sizeof rep->suite);
    rep->repeat = (int)get_num(&r, s, "repeat", "settings");
    rep->target_s = get_num(&r, s, "target_s", "settings");
    rep->threads = (int)get_num(&r, s, "threads", "settings");
  }
  const cJSON *devs = member(&r, root, "devices", cJSON_IsArray, ""), *j;
  int n = devs ? cJSON_GetArraySize(devs) : 0;
  if (!r.bad && n > 0 && !(rep->dev = calloc((size_t)n, sizeof *rep->dev))) return TSR_E_NOMEM;
  cJSON_ArrayForEach(j, devs) {
    if (r.bad) break;
    tsr__bench_device *bd = &rep->dev[rep->ndev++];
    tsr_device_info *d = &bd->dev;
    char backend[16] = "";
    get_str(&r, j, "id", "device", d->id, sizeof d->id);
    get_str(&r, j, "backend", d->id, backend, sizeof backend);
    d->backend = strcmp(backend, "cpu") ? TSR_BACKEND_OPENCL : TSR_BACKEND_CPU;
    char type[32] = "";
    get_str(&r, j, "type", d->id, type, sizeof type);
    for (int k = 0; k < 6; k++)
      if (!strcmp(type, tsr__device_type_name((tsr_device_type)k))) d->type = (tsr_device_type)k;
    get_str(&r, j, "platform", d->id, d->platform, sizeof d->platform);
    get_str(&r, j, "vendor", d->id, d->vendor, sizeof d->vendor);
    get_str(&r, j, "name", d->id, d->name, sizeof d->name);
    get_str(&r, j, "driver_version", d->id, d->driver_version, sizeof d->driver_version);
    get_str(&r, j, "opencl_c_version", d->id, d->opencl_c_version, sizeof d->opencl_c_version);
    d->compute_units = (unsigned)get_num(&r, j, "compute_units", d->id);
    d->clock_mhz = (unsigned)get_num(&r, j, "clock_mhz", d->id);
    d->global_mem = (uint64_t)get_num(&r, j, "global_mem_bytes", d->id);
    d->max_alloc = (uint64_t)get_num(&r, j, "max_alloc_bytes", d->id);
    const cJSON *wls = member(&r, j, "workloads", cJSON_IsArray, d->id), *o;
    cJSON_ArrayForEach(o, wls) {
      if (bd->nwl >= TSR_BENCH_MAX_WORKLOADS || r.bad) break;
      read_workload(&r, o, &bd->wl[bd->nwl++]);
    }
  }
  if (r.bad) {
    tsr__bench_report_free(rep);
    return TSR_E_FORMAT;
  }
  return TSR_OK;
}

tsr_status tsr__bench_load(const char *path, tsr__bench_report *rep, char *err, size_t errlen) {
  uint8_t *buf;
  size_t size;
  tsr_status st = tsr__read_file(NULL, path, &buf, &size);
  if (st) {
    snprintf(err, errlen, "%s: cannot read", path);
    return st;
  }
  cJSON *root = cJSON_ParseWithLength((const char *)buf, size);
  free(buf);
  if (!root) {
    snprintf(err, errlen, "%s: not valid JSON", path);
    return TSR_E_FORMAT;
  }
  char e[400];
  st = tsr__bench_from_json(root, rep, e, sizeof e);
  cJSON_Delete(root);
  if (st) snprintf(err, errlen, "%s: %s", path, e);
  return st;
}

/* ---- terminal table ---------------------------------------------------------- */
static void fmt_num(double v, char *out, size_t n) {
  double a = fabs(v);
  if (a >= 1000) snprintf(out, n, "%.0f", v);
  else if (a >= 100) snprintf(out, n, "%.1f", v);
  else if (a >= 1) snprintf(out, n, "%.2f", v);
  else if (a >= 0.01 || a == 0) snprintf(out, n, "%.3f", v);
  else snprintf(out, n, "%.2g", v);
}

static void fmt_bytes(uint64_t b, char *out, size_t n) {
  if (b >= (uint64_t)1 << 30) snprintf(out, n, "%.2f GiB", (double)b / (1 << 30));
  else if (b >= 1 << 20) snprintf(out, n, "%.0f MiB", (double)b / (1 << 20));
  else if (b) snprintf(out, n, "%.0f KiB", (double)b / 1024);
  else snprintf(out, n, "-");
}

static const tsr__bench_workload *find_wl(const tsr__bench_device *d, const char *name) {
  for (int i = 0; i < d->nwl; i++)
    if (!strcmp(d->wl[i].name, name)) return &d->wl[i];
  return NULL;
}

static const tsr__bench_figure *wl_fig(const tsr__bench_workload *w, const char *name) {
  for (int i = 0; w && i < w->nfig; i++)
    if (!strcmp(w->fig[i].name, name)) return &w->fig[i];
  return NULL;
}

/* The rows of the table: every (workload, figure) that some device has, in
 * the order first seen. */
typedef struct {
  const char *wl;
  const tsr__bench_figure *fig; /* the first device's copy: name, label, unit */
} row;

static int collect_rows(const tsr__bench_report *rep, row *rows, int max, const char **wls, int *nwl) {
  int n = 0;
  *nwl = 0;
  for (int i = 0; i < rep->ndev; i++)
    for (int k = 0; k < rep->dev[i].nwl; k++) {
      const tsr__bench_workload *w = &rep->dev[i].wl[k];
      int seen = 0;
      for (int q = 0; q < *nwl; q++) seen |= !strcmp(wls[q], w->name);
      if (!seen && *nwl < TSR_BENCH_MAX_WORKLOADS) wls[(*nwl)++] = w->name;
    }
  for (int q = 0; q < *nwl; q++)
    for (int i = 0; i < rep->ndev; i++) {
      const tsr__bench_workload *w = find_wl(&rep->dev[i], wls[q]);
      for (int f = 0; w && f < w->nfig; f++) {
        int seen = 0;
        for (int x = 0; x < n; x++) seen |= !strcmp(rows[x].wl, wls[q]) && !strcmp(rows[x].fig->name, w->fig[f].name);
        if (!seen && n < max) rows[n++] = (row){wls[q], &w->fig[f]};
      }
    }
  return n;
}

#define LABEL_W 42
#define CELL_W 26

static void cell(FILE *f, const char *text) { fprintf(f, " %-*.*s", CELL_W, CELL_W, text); }

void tsr__bench_print_table(const tsr__bench_report *rep, FILE *f) {
  row rows[64];
  const char *wls[TSR_BENCH_MAX_WORKLOADS];
  int nwl, nrows = collect_rows(rep, rows, 64, wls, &nwl);
  char buf[320];
  fprintf(f, "tessera bench, suite %s, %d measurement%s per figure: median [min-max]\n", rep->suite, rep->repeat,
          rep->repeat == 1 ? "" : "s");
  fprintf(f, "%-*s", LABEL_W, "");
  for (int i = 0; i < rep->ndev; i++) {
    snprintf(buf, sizeof buf, "%s %s", rep->dev[i].dev.id, rep->dev[i].dev.name);
    cell(f, buf);
  }
  fputc('\n', f);
  for (int q = 0; q < nwl; q++) {
    fprintf(f, "%s\n", wls[q]);
    for (int x = 0; x < nrows; x++) {
      if (strcmp(rows[x].wl, wls[q])) continue;
      snprintf(buf, sizeof buf, "  %s [%s]", rows[x].fig->label, rows[x].fig->unit);
      fprintf(f, "%-*.*s", LABEL_W, LABEL_W, buf);
      for (int i = 0; i < rep->ndev; i++) {
        const tsr__bench_workload *w = find_wl(&rep->dev[i], wls[q]);
        const tsr__bench_figure *g = wl_fig(w, rows[x].fig->name);
        char m[32], lo[32], hi[32];
        if (!g || !g->n) {
          snprintf(buf, sizeof buf, "%s", w && w->state == TSR_BENCH_NA ? "n/a" : w && w->state == TSR_BENCH_ERROR ? "error" : "-");
        } else {
          fmt_num(g->median, m, sizeof m);
          fmt_num(g->min, lo, sizeof lo);
          fmt_num(g->max, hi, sizeof hi);
          if (w->state == TSR_BENCH_FAILED) snprintf(buf, sizeof buf, "FAILED (%s)", m);
          else snprintf(buf, sizeof buf, "%s [%s-%s]", m, lo, hi);
        }
        cell(f, buf);
      }
      fputc('\n', f);
    }
    /* What stands behind the figures. */
    static const char *extra[] = {"  parity vs CPU: max |diff| (tolerance)", "  batch | device memory",
                                  "  build | first launch [s]", "  timing x iterations"};
    for (int e = 0; e < 4; e++) {
      fprintf(f, "%-*s", LABEL_W, extra[e]);
      for (int i = 0; i < rep->ndev; i++) {
        const tsr__bench_workload *w = find_wl(&rep->dev[i], wls[q]);
        if (!w || w->state == TSR_BENCH_NA || (w->state == TSR_BENCH_ERROR && !w->nfig)) {
          cell(f, !w ? "-" : w->state == TSR_BENCH_NA ? "n/a" : "error");
          continue;
        }
        char a[32], b[32];
        if (e == 0) {
          if (w->parity_diff < 0) snprintf(buf, sizeof buf, rep->dev[i].dev.backend == TSR_BACKEND_CPU ? "reference" : "-");
          else snprintf(buf, sizeof buf, "%g (%g) %s", w->parity_diff, w->tolerance,
                        w->parity_diff <= w->tolerance ? "ok" : "FAILED");
        } else if (e == 1) {
          fmt_bytes(w->device_bytes, a, sizeof a);
          snprintf(buf, sizeof buf, "%d | %s", w->batch, a);
        } else if (e == 2) {
          if (w->build_s >= 0) snprintf(a, sizeof a, "%.3f%s", w->build_s, w->build_cached ? " cached" : "");
          else snprintf(a, sizeof a, "-");
          if (w->first_launch_s >= 0) snprintf(b, sizeof b, "%.3f", w->first_launch_s);
          else snprintf(b, sizeof b, "-");
          snprintf(buf, sizeof buf, "%s | %s", a, b);
        } else {
          snprintf(buf, sizeof buf, "%s x %d", w->timing, w->iterations);
        }
        cell(f, buf);
      }
      fputc('\n', f);
    }
  }
  for (int i = 0; i < rep->ndev; i++)
    for (int k = 0; k < rep->dev[i].nwl; k++) {
      const tsr__bench_workload *w = &rep->dev[i].wl[k];
      if (w->state == TSR_BENCH_FAILED || w->state == TSR_BENCH_ERROR)
        fprintf(f, "%s %s: %s: %s\n", rep->dev[i].dev.id, w->name, state_name(w->state), w->message);
    }
}

/* ---- comparison ------------------------------------------------------------------ */
tsr__bench_change tsr__bench_classify(const tsr__bench_figure *base, const tsr__bench_figure *cur) {
  if (!base || !cur || !base->n || !cur->n) return TSR_CMP_MISSING;
  int up = cur->min > base->max, down = cur->max < base->min;
  if (!up && !down) return TSR_CMP_SAME;
  return up == cur->higher_is_better ? TSR_CMP_BETTER : TSR_CMP_WORSE;
}

static const tsr__bench_device *pair_device(const tsr__bench_report *base, const tsr__bench_report *cur,
                                            const tsr__bench_device *d) {
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < base->ndev; i++) {
      const tsr_device_info *b = &base->dev[i].dev;
      if (!strcmp(b->vendor, d->dev.vendor) && !strcmp(b->name, d->dev.name) && b->backend == d->dev.backend &&
          (pass == 1 || !strcmp(b->driver_version, d->dev.driver_version)))
        return &base->dev[i];
    }
  return base->ndev == 1 && cur->ndev == 1 ? &base->dev[0] : NULL;
}

int tsr__bench_compare(const tsr__bench_report *base, const tsr__bench_report *cur, tsr__bench_cmp **out) {
  int cap = 0, n = 0;
  *out = NULL;
  for (int i = 0; i < cur->ndev; i++) {
    const tsr__bench_device *d = &cur->dev[i], *b = pair_device(base, cur, d);
    for (int k = 0; k < d->nwl; k++) {
      const tsr__bench_workload *w = &d->wl[k], *bw = b ? find_wl(b, w->name) : NULL;
      for (int f = 0; f < w->nfig; f++) {
        if (n == cap) {
          cap = cap ? cap * 2 : 32;
          tsr__bench_cmp *p = realloc(*out, (size_t)cap * sizeof *p);
          if (!p) return n;
          *out = p;
        }
        tsr__bench_cmp *c = &(*out)[n++];
        memset(c, 0, sizeof *c);
        const tsr__bench_figure *g = &w->fig[f], *bg = wl_fig(bw, g->name);
        snprintf(c->device, sizeof c->device, "%s %s", d->dev.id, d->dev.name);
        if (b) snprintf(c->base_device, sizeof c->base_device, "%s %s", b->dev.id, b->dev.name);
        snprintf(c->workload, sizeof c->workload, "%s", w->name);
        snprintf(c->figure, sizeof c->figure, "%s", g->name);
        snprintf(c->label, sizeof c->label, "%s", g->label);
        snprintf(c->unit, sizeof c->unit, "%s", g->unit);
        c->current = g->median;
        c->base = bg ? bg->median : 0;
        c->ratio = bg && bg->median != 0 ? g->median / bg->median : 0;
        c->change = tsr__bench_classify(bg, g);
        if (bg && strcmp(bw->size, w->size)) c->change = TSR_CMP_OTHER_SIZE;
      }
    }
  }
  return n;
}

void tsr__bench_print_compare(const tsr__bench_cmp *c, int n, FILE *f) {
  const char *dev = NULL;
  for (int i = 0; i < n; i++) {
    if (!dev || strcmp(dev, c[i].device)) {
      dev = c[i].device;
      fprintf(f, "\n%s  vs base  %s\n", dev, c[i].base_device[0] ? c[i].base_device : "(no matching device)");
      fprintf(f, "  %-50s %12s %12s %8s  %s\n", "figure", "base", "current", "ratio", "change (beyond min-max noise)");
    }
    char label[128], b[32], cu[32];
    snprintf(label, sizeof label, "%s [%s]", c[i].label, c[i].unit);
    fmt_num(c[i].base, b, sizeof b);
    fmt_num(c[i].current, cu, sizeof cu);
    if (c[i].change == TSR_CMP_MISSING) {
      fprintf(f, "  %-50.50s %12s %12s %8s  %s\n", label, "-", cu, "-", "not in base");
      continue;
    }
    static const char *word[] = {"same (ranges overlap)", "BETTER", "WORSE", "", "not comparable: other size"};
    fprintf(f, "  %-50.50s %12s %12s %8.3f  %s\n", label, b, cu, c[i].ratio, word[c[i].change]);
  }
}

/* ---- HTML ------------------------------------------------------------------------- */
typedef struct {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (b->p && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap * 2 : 65536;
    while (cap < b->len + (size_t)n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
}

/* Text for HTML and SVG: & < > " escaped. */
static const char *esc(const char *s, char *out, size_t n) {
  size_t k = 0;
  for (; *s && k + 7 < n; s++) {
    const char *r = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '"' ? "&quot;" : NULL;
    if (r) {
      memcpy(out + k, r, strlen(r));
      k += strlen(r);
    } else {
      out[k++] = *s;
    }
  }
  out[k] = 0;
  return out;
}

static const char *k_colors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#bab0ac"};

static void html_chart(sbuf *b, const tsr__bench_report *rep, const row *r) {
  const int label_w = 300, bar_w = 420, bar_h = 22, gap = 8, right = 170;
  double top = 0;
  for (int i = 0; i < rep->ndev; i++) {
    const tsr__bench_figure *g = wl_fig(find_wl(&rep->dev[i], r->wl), r->fig->name);
    if (g && g->n && g->max > top) top = g->max;
  }
  if (top <= 0) top = 1;
  int h = rep->ndev * (bar_h + gap) + gap;
  char e1[512], e2[64];
  sb_printf(b, "<figure><figcaption>%s <span class=unit>[%s, %s is better]</span></figcaption>\n",
            esc(r->fig->label, e1, sizeof e1), esc(r->fig->unit, e2, sizeof e2),
            r->fig->higher_is_better ? "higher" : "lower");
  sb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\">\n",
            label_w + bar_w + right, h);
  for (int i = 0; i < rep->ndev; i++) {
    const tsr__bench_device *d = &rep->dev[i];
    const tsr__bench_workload *w = find_wl(d, r->wl);
    const tsr__bench_figure *g = wl_fig(w, r->fig->name);
    int y = gap + i * (bar_h + gap);
    char name[300];
    snprintf(name, sizeof name, "%s %s", d->dev.id, d->dev.name);
    if (strlen(name) > 44) strcpy(name + 41, "...");
    sb_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"dev\">%s</text>\n", label_w - 8, y + bar_h - 6,
              esc(name, e1, sizeof e1));
    if (!g || !g->n) {
      sb_printf(b, "<text x=\"%d\" y=\"%d\" class=\"na\">%s</text>\n", label_w + 4, y + bar_h - 6,
                !w ? "not run" : w->state == TSR_BENCH_NA ? "not applicable" : "error");
      continue;
    }
    int failed = w->state == TSR_BENCH_FAILED;
    double x0 = label_w, wmed = bar_w * g->median / top, wmin = bar_w * g->min / top, wmax = bar_w * g->max / top;
    sb_printf(b, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"%s/>\n", x0, y, wmed > 1 ? wmed : 1,
              bar_h, failed ? "#d62728" : k_colors[i % 8], failed ? " fill-opacity=\"0.35\"" : "");
    sb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" class=\"range\"/>\n", x0 + wmin, x0 + wmax,
              y + bar_h / 2, y + bar_h / 2);
    sb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" class=\"range\"/>\n", x0 + wmin, x0 + wmin, y + 5,
              y + bar_h - 5);
    sb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" class=\"range\"/>\n", x0 + wmax, x0 + wmax, y + 5,
              y + bar_h - 5);
    char m[32], lo[32], hi[32];
    fmt_num(g->median, m, sizeof m);
    fmt_num(g->min, lo, sizeof lo);
    fmt_num(g->max, hi, sizeof hi);
    sb_printf(b, "<text x=\"%.1f\" y=\"%d\" class=\"val\">%s%s <tspan class=\"range-t\">[%s-%s]</tspan></text>\n",
              x0 + (wmax > wmed ? wmax : wmed) + 6, y + bar_h - 6, failed ? "FAILED " : "", m, lo, hi);
  }
  sb_printf(b, "</svg></figure>\n");
}

tsr_status tsr__bench_write_html(tsr_context *ctx, const tsr__bench_report *rep, const char *path) {
  sbuf b = {0};
  row rows[64];
  const char *wls[TSR_BENCH_MAX_WORKLOADS];
  int nwl, nrows = collect_rows(rep, rows, 64, wls, &nwl);
  char e1[512], e2[512], e3[512];
  sb_printf(&b,
            "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>\n<title>tessera bench: %s</title>\n"
            "<style>\n"
            "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}\n"
            "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}\n"
            "table{border-collapse:collapse;margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}\n"
            "th{background:#f3f3f3}.ok{color:#2a7a2a}.failed{color:#fff;background:#d62728;font-weight:bold}"
            ".error{color:#a55}.muted{color:#777}\n"
            "figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}.unit{font-weight:normal;color:#666}\n"
            "svg text{font-size:13px;font-family:system-ui,sans-serif}svg .dev{fill:#333}svg .val{fill:#222}"
            "svg .na{fill:#999;font-style:italic}svg .range{stroke:#222;stroke-width:1.5}svg .range-t{fill:#777}\n"
            "</style></head><body>\n",
            esc(rep->host.cpu, e1, sizeof e1));
  sb_printf(&b, "<h1>tessera bench</h1>\n<p>Suite <b>%s</b>, %d measurements per figure: bars are medians, whiskers "
                "min to max. tessera %s (git %s), %s.</p>\n",
            esc(rep->suite, e1, sizeof e1), rep->repeat, esc(rep->tessera_version, e2, sizeof e2),
            esc(rep->git, e3, sizeof e3), rep->created);
  sb_printf(&b, "<p>Host: %s, %d cores, %.1f GiB RAM, %s.</p>\n", esc(rep->host.cpu, e1, sizeof e1), rep->host.cores,
            (double)rep->host.ram / (1 << 30), esc(rep->host.os, e2, sizeof e2));
  /* Devices. */
  sb_printf(&b, "<h2>Devices</h2>\n<table><tr><th>id</th><th>name</th><th>vendor</th><th>driver</th><th>OpenCL C</th>"
                "<th>compute units</th><th>global memory</th><th>max alloc</th></tr>\n");
  for (int i = 0; i < rep->ndev; i++) {
    const tsr_device_info *d = &rep->dev[i].dev;
    char g[32], m[32];
    fmt_bytes(d->global_mem, g, sizeof g);
    fmt_bytes(d->max_alloc, m, sizeof m);
    sb_printf(&b, "<tr><td><span style=\"color:%s\">&#9632;</span> %s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                  "<td>%u</td><td>%s</td><td>%s</td></tr>\n",
              k_colors[i % 8], esc(d->id, e1, sizeof e1), esc(d->name, e2, sizeof e2), esc(d->vendor, e3, sizeof e3),
              d->driver_version, d->opencl_c_version[0] ? d->opencl_c_version : "-", d->compute_units, g, m);
  }
  sb_printf(&b, "</table>\n");
  /* Parity. */
  sb_printf(&b, "<h2>Parity with the CPU backend</h2>\n<p>Largest absolute difference of each device's output from "
                "the CPU backend's (tolerance in brackets). A device above the tolerance is FAILED for that "
                "workload: its speed is not a result.</p>\n<table><tr><th>device</th>");
  for (int q = 0; q < nwl; q++) sb_printf(&b, "<th>%s</th>", esc(wls[q], e1, sizeof e1));
  sb_printf(&b, "</tr>\n");
  for (int i = 0; i < rep->ndev; i++) {
    sb_printf(&b, "<tr><td>%s %s</td>", esc(rep->dev[i].dev.id, e1, sizeof e1), esc(rep->dev[i].dev.name, e2, sizeof e2));
    for (int q = 0; q < nwl; q++) {
      const tsr__bench_workload *w = find_wl(&rep->dev[i], wls[q]);
      if (!w) sb_printf(&b, "<td class=muted>not run</td>");
      else if (w->state == TSR_BENCH_NA) sb_printf(&b, "<td class=muted>n/a</td>");
      else if (w->state == TSR_BENCH_ERROR) sb_printf(&b, "<td class=error>error: %s</td>", esc(w->message, e3, sizeof e3));
      else if (w->parity_diff < 0)
        sb_printf(&b, "<td class=muted>%s</td>", rep->dev[i].dev.backend == TSR_BACKEND_CPU ? "reference" : "-");
      else
        sb_printf(&b, "<td class=%s>%g (%g) %s</td>", w->state == TSR_BENCH_FAILED ? "failed" : "ok", w->parity_diff,
                  w->tolerance, w->state == TSR_BENCH_FAILED ? "FAILED" : "ok");
    }
    sb_printf(&b, "</tr>\n");
  }
  sb_printf(&b, "</table>\n");
  /* Charts, per workload. */
  for (int q = 0; q < nwl; q++) {
    sb_printf(&b, "<h2>%s</h2>\n", esc(wls[q], e1, sizeof e1));
    for (int i = 0; i < rep->ndev; i++) {
      const tsr__bench_workload *w = find_wl(&rep->dev[i], wls[q]);
      if (!w || w->state == TSR_BENCH_NA) continue;
      char mem[32];
      fmt_bytes(w->device_bytes, mem, sizeof mem);
      sb_printf(&b, "<p class=muted>%s: %s; timing %s, %d iterations per measurement; batch %d, device memory %s",
                esc(rep->dev[i].dev.id, e1, sizeof e1), esc(w->size, e2, sizeof e2), w->timing, w->iterations, w->batch,
                mem);
      if (w->build_s >= 0) sb_printf(&b, "; build %.3f s%s", w->build_s, w->build_cached ? " (binary cache)" : "");
      if (w->first_launch_s >= 0) sb_printf(&b, "; first launch %.3f s", w->first_launch_s);
      sb_printf(&b, "</p>\n");
    }
    for (int x = 0; x < nrows; x++)
      if (!strcmp(rows[x].wl, wls[q])) html_chart(&b, rep, &rows[x]);
  }
  sb_printf(&b, "</body></html>\n");
  if (b.oom) {
    free(b.p);
    return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  }
  tsr_status st = tsr__write_atomic(ctx, path, b.p, b.len);
  free(b.p);
  return st;
}

/* ---- result file names ---------------------------------------------------------- */
static void slug(const char *s, char *out, size_t n) {
  size_t k = 0;
  int dash = 1;
  for (; *s && k + 1 < n; s++) {
    if (isalnum((unsigned char)*s)) {
      out[k++] = (char)tolower((unsigned char)*s);
      dash = 0;
    } else if (!dash) {
      out[k++] = '-';
      dash = 1;
    }
  }
  while (k && out[k - 1] == '-') k--;
  out[k] = 0;
  if (!k) snprintf(out, n, "unknown");
}

static int has_ci(const char *hay, const char *needle) { return strcasestr(hay, needle) != NULL; }

void tsr__bench_result_path(const tsr_device_info *d, char *vendor, size_t vlen, char *device, size_t dlen) {
  if (d->backend == TSR_BACKEND_CPU) snprintf(vendor, vlen, "cpu-backend");
  else if (has_ci(d->platform, "Portable Computing Language") || has_ci(d->platform, "pocl")) snprintf(vendor, vlen, "pocl");
  else if (has_ci(d->platform, "NVIDIA") || has_ci(d->vendor, "NVIDIA")) snprintf(vendor, vlen, "nvidia");
  else if (has_ci(d->platform, "AMD") || has_ci(d->vendor, "Advanced Micro")) snprintf(vendor, vlen, "amd");
  else if (has_ci(d->platform, "Intel") || has_ci(d->vendor, "Intel")) snprintf(vendor, vlen, "intel");
  else slug(d->platform, vendor, vlen);
  slug(d->name, device, dlen);
}
