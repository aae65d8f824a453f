/* tessera augment's --ops grammar and the parameters each op draws
 * (src/ops/augment_ops.h). Draws use only Philox words and IEEE double
 * +, -, *, / and sqrt (correctly rounded everywhere); the log-uniform
 * ratios use the small exp/log below rather than libm's, whose last bit
 * may differ between C libraries, so a draw is the same on every machine. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "ops/augment_ops.h"
#include "philox.h"

static const char *const kind_name[TSR_AUG_NKINDS] = {"rrc",    "hflip", "vflip", "rotate", "affine", "jitter",
                                                      "gray",   "blur",  "erase", "resize", "ccrop",  "letterbox"};
static const char *const interp_name[] = {"nearest", "bilinear", "bicubic", "area"};
static const char *const border_name[] = {"constant", "replicate", "reflect"};

static void defaults(tsr__aug_op *o, tsr__aug_kind k) {
  memset(o, 0, sizeof *o);
  o->kind = k;
  o->p = k == TSR_AUG_HFLIP || k == TSR_AUG_VFLIP || k == TSR_AUG_BLUR || k == TSR_AUG_ERASE ? 0.5
         : k == TSR_AUG_GRAY                                                             ? 0.1
                                                                                         : 1.0;
  o->scale = k == TSR_AUG_RRC ? (tsr__aug_range){0.08, 1.0} : (tsr__aug_range){1.0, 1.0};
  o->ratio = k == TSR_AUG_ERASE ? (tsr__aug_range){0.3, 3.3} : (tsr__aug_range){0.75, 4.0 / 3.0};
  o->sigma = (tsr__aug_range){0.1, 2.0};
  o->area = (tsr__aug_range){0.02, 0.33};
  o->interp = TSR_AUG_BILINEAR;
  o->border = TSR_AUG_CONSTANT;
  o->fill = k == TSR_AUG_LETTERBOX ? 114 : 0;
  o->aa = 1;
}

/* ---- values ---------------------------------------------------------------------- */
static int parse_num(const char *s, double *v) {
  char *end;
  errno = 0;
  *v = strtod(s, &end);
  return end != s && !*end && !errno && isfinite(*v);
}

/* a:b (a <= b), or with symmetric a single v as -v:v. */
static int parse_range(const char *s, tsr__aug_range *r, int symmetric) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", s);
  char *colon = strchr(buf, ':');
  if (!colon) {
    double v;
    if (!parse_num(buf, &v)) return 0;
    *r = symmetric ? (tsr__aug_range){-fabs(v), fabs(v)} : (tsr__aug_range){v, v};
    return 1;
  }
  *colon = 0;
  return parse_num(buf, &r->lo) && parse_num(colon + 1, &r->hi) && r->lo <= r->hi;
}

static int parse_size(const char *s, int *w, int *h) {
  char *end;
  errno = 0;
  long a = strtol(s, &end, 10), b = 0;
  if (end == s || errno || a < 1 || a > 65535) return 0;
  if (*end == 'x' || *end == 'X') {
    const char *t = end + 1;
    b = strtol(t, &end, 10);
    if (end == t || errno || b < 1 || b > 65535) return 0;
  }
  if (*end) return 0;
  *w = (int)a;
  *h = (int)b;
  return 1;
}

static int parse_word(const char *s, const char *const *names, int n, int *out) {
  for (int i = 0; i < n; i++)
    if (!strcmp(s, names[i])) {
      *out = i;
      return 1;
    }
  return 0;
}

/* One key=value of op o; a message in why when it is refused. */
static int apply_arg(tsr__aug_op *o, const char *key, const char *val, char *why, size_t n) {
  tsr__aug_kind k = o->kind;
  int ok = 1, known = 1;
  double v;
#define IS(name) (!strcmp(key, name))
  if (IS("p") && k != TSR_AUG_RESIZE && k != TSR_AUG_CCROP && k != TSR_AUG_LETTERBOX && k != TSR_AUG_RRC) {
    ok = parse_num(val, &o->p) && o->p >= 0 && o->p <= 1;
    if (!ok) snprintf(why, n, "p '%s' is not a probability (0 to 1)", val);
  } else if (IS("size") && (k == TSR_AUG_RRC || k == TSR_AUG_RESIZE || k == TSR_AUG_CCROP || k == TSR_AUG_LETTERBOX)) {
    ok = parse_size(val, &o->w, &o->h);
    if (!ok) snprintf(why, n, "size '%s' is not N or WxH (1 to 65535)", val);
  } else if (IS("scale") && (k == TSR_AUG_RRC || k == TSR_AUG_AFFINE)) {
    ok = parse_range(val, &o->scale, 0) && o->scale.lo > 0 && (k != TSR_AUG_RRC || o->scale.hi <= 1);
    if (!ok) snprintf(why, n, "scale '%s' is not a range a:b of positive numbers%s", val, k == TSR_AUG_RRC ? " up to 1" : "");
  } else if (IS("ratio") && (k == TSR_AUG_RRC || k == TSR_AUG_ERASE)) {
    ok = parse_range(val, &o->ratio, 0) && o->ratio.lo > 0;
    if (!ok) snprintf(why, n, "ratio '%s' is not a range a:b of positive numbers", val);
  } else if (IS("deg") && (k == TSR_AUG_ROTATE || k == TSR_AUG_AFFINE)) {
    ok = parse_range(val, &o->deg, 1) && o->deg.lo >= -360 && o->deg.hi <= 360;
    if (!ok) snprintf(why, n, "deg '%s' is not a number or a range a:b within -360:360", val);
  } else if (IS("shear") && k == TSR_AUG_AFFINE) {
    ok = parse_range(val, &o->shear, 1) && o->shear.lo > -90 && o->shear.hi < 90;
    if (!ok) snprintf(why, n, "shear '%s' is not a number or a range a:b within -90:90 (degrees)", val);
  } else if (IS("translate") && k == TSR_AUG_AFFINE) {
    ok = parse_num(val, &o->translate) && o->translate >= 0 && o->translate <= 1;
    if (!ok) snprintf(why, n, "translate '%s' is not a fraction of the size (0 to 1)", val);
  } else if ((IS("brightness") || IS("contrast") || IS("saturation") || IS("hue")) && k == TSR_AUG_JITTER) {
    double lim = IS("hue") ? 0.5 : 1e6;
    ok = parse_num(val, &v) && v >= 0 && v <= lim;
    if (!ok) snprintf(why, n, "%s '%s' must be a number from 0%s", key, val, IS("hue") ? " to 0.5" : "");
    if (ok) *(IS("brightness") ? &o->brightness : IS("contrast") ? &o->contrast : IS("saturation") ? &o->saturation : &o->hue) = v;
  } else if (IS("sigma") && k == TSR_AUG_BLUR) {
    ok = parse_range(val, &o->sigma, 0) && o->sigma.lo > 0 && o->sigma.hi <= 64;
    if (!ok) snprintf(why, n, "sigma '%s' is not a range a:b within (0, 64]", val);
  } else if (IS("area") && k == TSR_AUG_ERASE) {
    ok = parse_range(val, &o->area, 0) && o->area.lo > 0 && o->area.hi < 1;
    if (!ok) snprintf(why, n, "area '%s' is not a range a:b within (0, 1)", val);
  } else if (IS("interp") && (k == TSR_AUG_RRC || k == TSR_AUG_RESIZE)) {
    ok = parse_word(val, interp_name, 4, &o->interp);
    if (!ok) snprintf(why, n, "interp '%s' is not nearest, bilinear, bicubic or area", val);
  } else if (IS("border") && (k == TSR_AUG_ROTATE || k == TSR_AUG_AFFINE)) {
    ok = parse_word(val, border_name, 3, &o->border);
    if (!ok) snprintf(why, n, "border '%s' is not constant, replicate or reflect", val);
  } else if ((IS("fill") && (k == TSR_AUG_ROTATE || k == TSR_AUG_AFFINE || k == TSR_AUG_LETTERBOX)) ||
             (IS("value") && k == TSR_AUG_ERASE)) {
    ok = parse_num(val, &v) && v >= 0 && v <= 255 && v == floor(v);
    if (ok) o->fill = (int)v;
    else snprintf(why, n, "%s '%s' is not a grey level 0 to 255", key, val);
  } else if (IS("aa") && k == TSR_AUG_RESIZE) {
    ok = (!strcmp(val, "0") || !strcmp(val, "1"));
    if (ok) o->aa = val[0] == '1';
    else snprintf(why, n, "aa '%s' is not 0 or 1", val);
  } else {
    known = 0;
  }
#undef IS
  if (!known) snprintf(why, n, "no argument '%s'", key);
  return ok && known;
}

static int is_geometric(tsr__aug_kind k);

static int needs_size(tsr__aug_kind k) {
  return k == TSR_AUG_RRC || k == TSR_AUG_RESIZE || k == TSR_AUG_CCROP || k == TSR_AUG_LETTERBOX;
}

tsr_status tsr__aug_parse(tsr_context *ctx, const char *text, tsr__aug_ops *ops) {
  memset(ops, 0, sizeof *ops);
  const char *s = text ? text : "";
  for (;;) {
    while (*s == ';' || *s == ',' || isspace((unsigned char)*s)) s++;
    if (!*s) break;
    char name[32];
    size_t k = 0;
    while ((isalnum((unsigned char)*s) || *s == '_') && k + 1 < sizeof name) name[k++] = (char)tolower((unsigned char)*s++);
    name[k] = 0;
    int kind = -1;
    for (int i = 0; i < TSR_AUG_NKINDS; i++)
      if (!strcmp(name, kind_name[i])) kind = i;
    if (!k) return tsr__fail(ctx, TSR_E_INVALID, "--ops: expected an op name at '%.20s'", s);
    if (kind < 0)
      return tsr__fail(ctx, TSR_E_INVALID, "--ops: unknown op '%s' (rrc, hflip, vflip, rotate, affine, jitter, gray, "
                                          "blur, erase, resize, ccrop, letterbox)", name);
    if (ops->n == TSR_AUG_MAX_OPS) return tsr__fail(ctx, TSR_E_INVALID, "--ops: more than %d ops", TSR_AUG_MAX_OPS);
    tsr__aug_op *o = &ops->op[ops->n++];
    defaults(o, (tsr__aug_kind)kind);
    const char *after = s; /* spaces before '(' belong to the op; else they separate ops */
    while (isspace((unsigned char)*after)) after++;
    if (*after == '(') s = after;
    int have_size = 0, have_deg = 0;
    if (*s == '(') {
      const char *close = strchr(s, ')');
      if (!close) return tsr__fail(ctx, TSR_E_INVALID, "--ops: %s: '(' without ')'", name);
      char args[512];
      size_t len = (size_t)(close - s - 1);
      if (len >= sizeof args) return tsr__fail(ctx, TSR_E_INVALID, "--ops: %s: arguments too long", name);
      memcpy(args, s + 1, len);
      args[len] = 0;
      s = close + 1;
      char *save = NULL;
      for (char *a = strtok_r(args, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*a)) a++;
        char *e = a + strlen(a);
        while (e > a && isspace((unsigned char)e[-1])) *--e = 0;
        if (!*a) continue;
        char *eq = strchr(a, '=');
        if (!eq) return tsr__fail(ctx, TSR_E_INVALID, "--ops: %s: '%s' is not key=value", name, a);
        *eq = 0;
        char *key = a, *val = eq + 1;
        for (char *t = eq; t > key && isspace((unsigned char)t[-1]); t--) t[-1] = 0;
        while (isspace((unsigned char)*val)) val++;
        char why[200];
        if (!apply_arg(o, key, val, why, sizeof why)) return tsr__fail(ctx, TSR_E_INVALID, "--ops: %s: %s", name, why);
        have_size |= !strcmp(key, "size");
        have_deg |= !strcmp(key, "deg");
      }
    } else if (*s && *s != ';' && *s != ',' && !isspace((unsigned char)*s)) {
      return tsr__fail(ctx, TSR_E_INVALID, "--ops: %s: unexpected '%c'", name, *s);
    }
    if (needs_size((tsr__aug_kind)kind) && !have_size)
      return tsr__fail(ctx, TSR_E_INVALID, "--ops: %s needs size= (N or WxH)", name);
    if (kind == TSR_AUG_ROTATE && !have_deg)
      return tsr__fail(ctx, TSR_E_INVALID, "--ops: rotate needs deg= (a range a:b, or v for -v:v)");
  }
  if (!ops->n) return tsr__fail(ctx, TSR_E_INVALID, "--ops: no ops");
  /* the geometric ops are sampled once, so no pixel op may sit between two of them */
  int first_geo = -1, last_geo = -1;
  for (int i = 0; i < ops->n; i++)
    if (is_geometric(ops->op[i].kind)) {
      if (first_geo < 0) first_geo = i;
      last_geo = i;
    }
  for (int i = first_geo + 1; i < last_geo; i++)
    if (!is_geometric(ops->op[i].kind))
      return tsr__fail(ctx, TSR_E_INVALID, "--ops: %s sits between %s and %s: the geometric ops are applied as one "
                       "resample, so pixel ops go before all of them or after all of them", kind_name[ops->op[i].kind],
                       kind_name[ops->op[first_geo].kind], kind_name[ops->op[last_geo].kind]);
  return TSR_OK;
}

/* Appends to out (n bytes) as snprintf would, counting in used and total
 * (the functions below keep both). */
#define PUT(...)                                                                              \
  do {                                                                                        \
    int r_ = snprintf(out + (used < n ? used : n), used < n ? n - used : 0, __VA_ARGS__);     \
    if (r_ > 0) {                                                                             \
      used += (size_t)r_;                                                                     \
      total += r_;                                                                            \
    }                                                                                         \
  } while (0)

int tsr__aug_canonical(const tsr__aug_ops *ops, char *out, size_t n) {
  size_t used = 0;
  int total = 0;
  for (int i = 0; i < ops->n; i++) {
    const tsr__aug_op *o = &ops->op[i];
    PUT("%s%s(", i ? ";" : "", kind_name[o->kind]);
    if (!needs_size(o->kind)) PUT("p=%.17g", o->p); /* the sized ops always apply */
    else if (o->h) PUT("size=%dx%d", o->w, o->h);
    else PUT("size=%d", o->w);
    switch (o->kind) {
    case TSR_AUG_RRC:
      PUT(",scale=%.17g:%.17g,ratio=%.17g:%.17g,interp=%s", o->scale.lo, o->scale.hi, o->ratio.lo, o->ratio.hi,
          interp_name[o->interp]);
      break;
    case TSR_AUG_ROTATE: PUT(",deg=%.17g:%.17g,border=%s,fill=%d", o->deg.lo, o->deg.hi, border_name[o->border], o->fill); break;
    case TSR_AUG_AFFINE:
      PUT(",translate=%.17g,scale=%.17g:%.17g,shear=%.17g:%.17g,deg=%.17g:%.17g,border=%s,fill=%d", o->translate,
          o->scale.lo, o->scale.hi, o->shear.lo, o->shear.hi, o->deg.lo, o->deg.hi, border_name[o->border], o->fill);
      break;
    case TSR_AUG_JITTER:
      PUT(",brightness=%.17g,contrast=%.17g,saturation=%.17g,hue=%.17g", o->brightness, o->contrast, o->saturation,
          o->hue);
      break;
    case TSR_AUG_BLUR: PUT(",sigma=%.17g:%.17g", o->sigma.lo, o->sigma.hi); break;
    case TSR_AUG_ERASE:
      PUT(",area=%.17g:%.17g,ratio=%.17g:%.17g,value=%d", o->area.lo, o->area.hi, o->ratio.lo, o->ratio.hi, o->fill);
      break;
    case TSR_AUG_RESIZE: PUT(",interp=%s,aa=%d", interp_name[o->interp], o->aa); break;
    case TSR_AUG_LETTERBOX: PUT(",fill=%d", o->fill); break;
    default: break;
    }
    PUT(")");
  }
  return total;
}

/* ---- draws ------------------------------------------------------------------------ */
uint64_t tsr__aug_path_hash(const char *relpath) { return XXH64(relpath, strlen(relpath), 0); }

static void words(uint64_t seed, uint64_t hash, uint32_t copy, int i, int block, uint32_t out[4]) {
  uint32_t ctr[4] = {copy, (uint32_t)i << 8 | (uint32_t)block, (uint32_t)hash, (uint32_t)(hash >> 32)};
  uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  tsr_philox4x32_10(ctr, key, out);
}

static double unit(uint32_t u) { return (double)(u >> 8) / 16777216.0; }
static double in_range(tsr__aug_range r, uint32_t u) { return r.lo + (r.hi - r.lo) * unit(u); }

/* Natural log and exp from +, -, *, / only (same bits everywhere): for
 * the log-uniform ratios, where 1e-12 relative is plenty. */
static double det_log(double x) {
  int e = 0;
  while (x > 1.5) {
    x *= 0.5;
    e++;
  }
  while (x < 0.75) {
    x *= 2.0;
    e--;
  }
  double t = (x - 1) / (x + 1), t2 = t * t, sum = 0, term = t;
  for (int k = 1; k < 60; k += 2) {
    sum += term / k;
    term *= t2;
  }
  return 2 * sum + e * 0.69314718055994530942;
}

static double det_exp(double x) {
  if (!(x > -745)) return 0; /* below the smallest double (and -inf, NaN): nothing to reduce */
  if (x > 709) x = 709;
  int e = 0;
  while (x > 0.5) {
    x -= 0.69314718055994530942;
    e++;
  }
  while (x < -0.5) {
    x += 0.69314718055994530942;
    e--;
  }
  double sum = 1, term = 1;
  for (int k = 1; k < 30; k++) {
    term *= x / k;
    sum += term;
  }
  for (; e > 0; e--) sum *= 2;
  for (; e < 0; e++) sum *= 0.5;
  return sum;
}

static double log_uniform(tsr__aug_range r, uint32_t u) {
  return det_exp(det_log(r.lo) + (det_log(r.hi) - det_log(r.lo)) * unit(u));
}

/* Round half away from zero (no libm rounding mode involved). */
static int round_i(double v) { return v >= 0 ? (int)(v + 0.5) : -(int)(-v + 0.5); }

void tsr__aug_draw(const tsr__aug_op *op, int i, uint64_t seed, uint64_t path_hash, uint32_t copy, int w, int h,
                   tsr__aug_params *out) {
  memset(out, 0, sizeof *out);
  uint32_t wd[4];
  words(seed, path_hash, copy, i, 0, wd);
  out->apply = unit(wd[0]) < op->p;
  switch (op->kind) {
  case TSR_AUG_RRC:
  case TSR_AUG_ERASE: {
    /* up to 10 tries of an area and an aspect ratio that fit, one block
     * each (torchvision's RandomResizedCrop and RandomErasing) */
    double area = (double)w * (double)h;
    for (int t = 1; t <= 10; t++) {
      words(seed, path_hash, copy, i, t, wd);
      double target = area * in_range(op->kind == TSR_AUG_RRC ? op->scale : op->area, wd[0]);
      double ar = log_uniform(op->ratio, wd[1]);
      int cw = round_i(sqrt(target * ar)), ch = round_i(sqrt(target / ar));
      if (op->kind == TSR_AUG_ERASE) { /* erasing takes h from the ratio the other way round */
        int tmp = cw;
        cw = ch;
        ch = tmp;
      }
      int fits = op->kind == TSR_AUG_RRC ? cw > 0 && ch > 0 && cw <= w && ch <= h : cw > 0 && ch > 0 && cw < w && ch < h;
      if (!fits) continue;
      out->rect[0] = (int)tsr_philox_below(wd[2], (uint32_t)(w - cw + 1));
      out->rect[1] = (int)tsr_philox_below(wd[3], (uint32_t)(h - ch + 1));
      out->rect[2] = cw;
      out->rect[3] = ch;
      return;
    }
    if (op->kind == TSR_AUG_ERASE) {
      out->apply = 0; /* nothing fitted: no erasing */
      return;
    }
    /* the centre crop with the ratio clamped to the range */
    double in_ratio = (double)w / (double)h;
    int cw = w, ch = h;
    if (in_ratio < op->ratio.lo) ch = round_i(w / op->ratio.lo);
    else if (in_ratio > op->ratio.hi) cw = round_i(h * op->ratio.hi);
    if (ch > h) ch = h;
    if (cw > w) cw = w;
    out->rect[0] = (w - cw) / 2;
    out->rect[1] = (h - ch) / 2;
    out->rect[2] = cw;
    out->rect[3] = ch;
    return;
  }
  case TSR_AUG_ROTATE: out->v[0] = in_range(op->deg, wd[1]); return;
  case TSR_AUG_AFFINE: {
    out->v[0] = in_range(op->deg, wd[1]);
    out->v[1] = in_range(op->scale, wd[2]);
    out->v[2] = in_range(op->shear, wd[3]);
    words(seed, path_hash, copy, i, 1, wd);
    double mx = op->translate * w, my = op->translate * h;
    out->v[3] = round_i(-mx + 2 * mx * unit(wd[0]));
    out->v[4] = round_i(-my + 2 * my * unit(wd[1]));
    return;
  }
  case TSR_AUG_JITTER: {
    double f[3] = {op->brightness, op->contrast, op->saturation};
    for (int k = 0; k < 3; k++) {
      tsr__aug_range r = {f[k] < 1 ? 1 - f[k] : 0, 1 + f[k]};
      out->v[k] = f[k] > 0 ? in_range(r, wd[1 + k]) : 1.0;
    }
    words(seed, path_hash, copy, i, 1, wd);
    out->v[3] = op->hue > 0 ? in_range((tsr__aug_range){-op->hue, op->hue}, wd[0]) : 0.0;
    out->v[4] = tsr_philox_below(wd[1], 24);
    return;
  }
  case TSR_AUG_BLUR: out->v[0] = in_range(op->sigma, wd[1]); return;
  default: return;
  }
}

/* ---- one item's plan ---------------------------------------------------------------- */
/* a = a * b for 2x3 affine maps (b applied first). */
static void compose(double a[6], const double b[6]) {
  double r[6] = {a[0] * b[0] + a[1] * b[3], a[0] * b[1] + a[1] * b[4], a[0] * b[2] + a[1] * b[5] + a[2],
                 a[3] * b[0] + a[4] * b[3], a[3] * b[1] + a[4] * b[4], a[3] * b[2] + a[4] * b[5] + a[5]};
  memcpy(a, r, sizeof r);
}

/* cos and sin of deg degrees from + - * / only (Taylor series after
 * reduction to [-45, 45] degrees), the same bits everywhere. */
static void det_cossin(double deg, double *c, double *s) {
  while (deg > 180) deg -= 360;
  while (deg < -180) deg += 360;
  int quarter = 0;
  while (deg > 45) {
    deg -= 90;
    quarter++;
  }
  while (deg < -45) {
    deg += 90;
    quarter--;
  }
  double x = deg * (3.14159265358979323846 / 180.0), x2 = x * x, cs = 1, sn = x, tc = 1, ts = x;
  for (int k = 1; k < 12; k++) {
    tc *= -x2 / ((2 * k - 1) * (2 * k));
    ts *= -x2 / ((2 * k) * (2 * k + 1));
    cs += tc;
    sn += ts;
  }
  quarter = ((quarter % 4) + 4) % 4;
  for (int q = 0; q < quarter; q++) { /* + 90 degrees: (c, s) -> (-s, c) */
    double t = cs;
    cs = -sn;
    sn = t;
  }
  *c = cs;
  *s = sn;
}

/* The output-to-input map of a rotation by deg (counter-clockwise on the
 * screen), shear shx degrees, scale sc and shift (tx, ty) about the
 * centre (cx, cy): the inverse of T(c) T(t) R S(shear) S(scale) T(-c). */
static void affine_inverse(double deg, double shx, double sc, double tx, double ty, double cx, double cy,
                           double out[6]) {
  double c, s, ch, sh;
  det_cossin(-deg, &c, &s); /* y down: counter-clockwise on screen is clockwise in these axes */
  det_cossin(shx, &ch, &sh);
  /* forward linear part A = R * [[1, tan], [0, 1]] * sc */
  double t = sh / ch;
  double a = c * sc, b = (c * t - s) * sc, d = s * sc, e = (s * t + c) * sc;
  double det = a * e - b * d;
  double ia = e / det, ib = -b / det, id = -d / det, ie = a / det;
  /* input = A^-1 (out - c - t) + c */
  double ox = -cx - tx, oy = -cy - ty;
  out[0] = ia;
  out[1] = ib;
  out[2] = ia * ox + ib * oy + cx;
  out[3] = id;
  out[4] = ie;
  out[5] = id * ox + ie * oy + cy;
}

void tsr__aug_plan_item(const tsr__aug_ops *ops, uint64_t seed, uint64_t path_hash, uint32_t copy, int in_w, int in_h,
                        tsr__aug_plan *plan) {
  memset(plan, 0, sizeof *plan);
  double m[6] = {1, 0, 0, 0, 1, 0};
  int w = in_w, h = in_h;
  for (int i = 0; i < ops->n; i++) {
    const tsr__aug_op *o = &ops->op[i];
    tsr__aug_params *pp = &plan->params[i];
    tsr__aug_draw(o, i, seed, path_hash, copy, w, h, pp);
    double step[6] = {1, 0, 0, 0, 1, 0};
    int nw = w, nh = h, geo = 1;
    switch (o->kind) {
    case TSR_AUG_RRC:
      nw = o->w;
      nh = o->h ? o->h : o->w;
      step[0] = (double)pp->rect[2] / nw;
      step[2] = pp->rect[0];
      step[4] = (double)pp->rect[3] / nh;
      step[5] = pp->rect[1];
      break;
    case TSR_AUG_HFLIP:
      if (pp->apply) {
        step[0] = -1;
        step[2] = w;
      } else geo = 0;
      break;
    case TSR_AUG_VFLIP:
      if (pp->apply) {
        step[4] = -1;
        step[5] = h;
      } else geo = 0;
      break;
    case TSR_AUG_ROTATE:
      if (pp->apply) affine_inverse(pp->v[0], 0, 1, 0, 0, w / 2.0, h / 2.0, step);
      else geo = 0;
      break;
    case TSR_AUG_AFFINE:
      if (pp->apply) affine_inverse(pp->v[0], pp->v[2], pp->v[1], pp->v[3], pp->v[4], w / 2.0, h / 2.0, step);
      else geo = 0;
      break;
    case TSR_AUG_RESIZE:
      if (o->h) {
        nw = o->w;
        nh = o->h;
      } else if (w <= h) { /* N: the shorter side */
        nw = o->w;
        nh = (int)((int64_t)o->w * h / w);
      } else {
        nh = o->w;
        nw = (int)((int64_t)o->w * w / h);
      }
      step[0] = (double)w / nw;
      step[4] = (double)h / nh;
      break;
    case TSR_AUG_CCROP:
      nw = o->w;
      nh = o->h ? o->h : o->w;
      step[2] = (w - nw) / 2;
      step[5] = (h - nh) / 2;
      break;
    case TSR_AUG_LETTERBOX: {
      nw = o->w;
      nh = o->h ? o->h : o->w;
      double s = (double)nw / w < (double)nh / h ? (double)nw / w : (double)nh / h;
      step[0] = step[4] = 1.0 / s;
      step[2] = -((nw - w * s) / 2.0) / s;
      step[5] = -((nh - h * s) / 2.0) / s;
      break;
    }
    default: geo = 0; break;
    }
    if (geo) {
      compose(m, step);
      plan->geometric = 1;
    }
    w = nw;
    h = nh;
  }
  memcpy(plan->m, m, sizeof m);
  plan->out_w = w;
  plan->out_h = h;
}

/* ---- execution ------------------------------------------------------------------ */
static int is_geometric(tsr__aug_kind k) {
  return k == TSR_AUG_RRC || k == TSR_AUG_HFLIP || k == TSR_AUG_VFLIP || k == TSR_AUG_ROTATE || k == TSR_AUG_AFFINE ||
         k == TSR_AUG_RESIZE || k == TSR_AUG_CCROP || k == TSR_AUG_LETTERBOX;
}

int tsr__aug_has_pre(const tsr__aug_ops *ops) {
  for (int i = 0; i < ops->n; i++) {
    if (is_geometric(ops->op[i].kind)) return 0;
    for (int j = i + 1; j < ops->n; j++)
      if (is_geometric(ops->op[j].kind)) return 1;
  }
  return 0;
}

double tsr__aug_shrink(const tsr__aug_plan *plan) {
  if (!plan->geometric) return 0;
  const double *m = plan->m;
  double sx = sqrt(m[0] * m[0] + m[3] * m[3]), sy = sqrt(m[1] * m[1] + m[4] * m[4]);
  return sx > sy ? sx : sy;
}

/* Order k (0..23) of the four jitter parts, lexicographic. */
static void perm4(int k, int out[4]) {
  int left[4] = {0, 1, 2, 3}, n = 4;
  static const int fact[4] = {6, 2, 1, 1};
  for (int i = 0; i < 4; i++) {
    int q = (k / fact[i]) % n;
    out[i] = left[q];
    for (int j = q; j + 1 < n; j++) left[j] = left[j + 1];
    n--;
  }
}

static int64_t q16(double v) { return (int64_t)floor(v * 65536.0 + 0.5); }

static void blur_taps(double sigma, tsr__aug_pix *px) {
  int r = (int)ceil(3 * sigma);
  if (r < 1) r = 1;
  if (r > TSR_AUG_BLUR_MAX_R) r = TSR_AUG_BLUR_MAX_R;
  double g[2 * TSR_AUG_BLUR_MAX_R + 1], sum = 0;
  double s2 = 2 * sigma * sigma; /* 0 for a vanishing sigma: the identity */
  for (int k = -r; k <= r; k++) sum += g[k + r] = k == 0 ? 1.0 : s2 > 0 ? det_exp(-(double)(k * k) / s2) : 0.0;
  int32_t tot = 0;
  for (int k = -r; k <= r; k++) tot += px->taps[k + r] = (int32_t)floor(g[k + r] / sum * 16384.0 + 0.5);
  px->taps[r] += 16384 - tot; /* the taps sum to exactly 1 */
  px->a = r;
}

/* Appends op i's pixel parts to list (n entries so far); returns the new n. */
static int add_pix(const tsr__aug_op *o, const tsr__aug_params *pp, tsr__aug_pix *list, int n) {
  if (!pp->apply) return n;
  tsr__aug_pix *px = &list[n];
  memset(px, 0, sizeof *px);
  switch (o->kind) {
  case TSR_AUG_JITTER: {
    int order[4];
    perm4((int)pp->v[4], order);
    for (int k = 0; k < 4; k++) {
      int part = order[k];
      if (part < 3 && pp->v[part] == 1.0) continue;
      if (part == 3 && pp->v[3] == 0.0) continue;
      px = &list[n++];
      memset(px, 0, sizeof *px);
      if (part == 3) {
        px->kind = TSR_AUGP_HUE;
        int64_t s = (int64_t)floor(pp->v[3] * 6 * 65536 + 0.5) % (6 * 65536);
        px->a = (int32_t)(s < 0 ? s + 6 * 65536 : s);
      } else {
        px->kind = part == 0 ? TSR_AUGP_BRIGHT : part == 1 ? TSR_AUGP_CONTRAST : TSR_AUGP_SAT;
        px->a = tsr_aug_q12(pp->v[part]);
      }
    }
    return n;
  }
  case TSR_AUG_GRAY: px->kind = TSR_AUGP_GRAY; return n + 1;
  case TSR_AUG_BLUR:
    px->kind = TSR_AUGP_BLUR;
    blur_taps(pp->v[0], px);
    return n + 1;
  case TSR_AUG_ERASE:
    px->kind = TSR_AUGP_ERASE;
    memcpy(px->rect, pp->rect, sizeof px->rect);
    px->a = o->fill;
    return n + 1;
  default: return n;
  }
}

void tsr__aug_exec_make(const tsr__aug_ops *ops, const tsr__aug_plan *plan, int in_w, int in_h, int ch, int denom,
                        int off_x, int off_y, tsr__aug_exec *e) {
  memset(e, 0, sizeof *e);
  e->in_w = in_w;
  e->in_h = in_h;
  e->ch = ch;
  e->out_w = plan->out_w;
  e->out_h = plan->out_h;
  e->warp = plan->geometric;
  e->interp = 1;
  int aa = 1, seen_geo = 0;
  for (int i = 0; i < ops->n; i++) {
    const tsr__aug_op *o = &ops->op[i];
    if (o->kind == TSR_AUG_RRC || o->kind == TSR_AUG_RESIZE)
      e->interp = o->interp == TSR_AUG_NEAREST ? 0 : o->interp == TSR_AUG_BICUBIC ? 2 : 1; /* area: bilinear, antialiased */
    if (o->kind == TSR_AUG_RESIZE && !o->aa) aa = 0;
    if (o->kind == TSR_AUG_ROTATE || o->kind == TSR_AUG_AFFINE) {
      e->border = o->border;
      e->fill = o->fill;
    } else if (o->kind == TSR_AUG_LETTERBOX) {
      e->border = TSR_AUG_CONSTANT;
      e->fill = o->fill;
    }
    if (is_geometric(o->kind)) seen_geo = 1;
    else if (!seen_geo) e->npre = add_pix(o, &plan->params[i], e->pre, e->npre);
    else e->npost = add_pix(o, &plan->params[i], e->post, e->npost);
  }
  if (!seen_geo) { /* no geometric op listed: everything runs on the output (the input's size) */
    memcpy(e->post, e->pre, sizeof e->pre);
    e->npost = e->npre;
    e->npre = 0;
  }
  const double *m = plan->m;
  double d = denom > 0 ? denom : 1;
  e->q[0] = q16(m[0] / d);
  e->q[1] = q16(m[1] / d);
  e->q[2] = q16(m[2] / d - off_x - 0.5);
  e->q[3] = q16(m[3] / d);
  e->q[4] = q16(m[4] / d);
  e->q[5] = q16(m[5] / d - off_y - 0.5);
  double shrink = tsr__aug_shrink(plan) / d;
  e->sub = 0;
  if (aa && e->interp != 0)
    while (e->sub < 3 && (double)(1 << e->sub) < shrink - 1e-9) e->sub++;
}

int tsr__aug_params_json(const tsr__aug_ops *ops, const tsr__aug_plan *plan, char *out, size_t n) {
  size_t used = 0;
  int total = 0;
  PUT("{");
  int first = 1;
  for (int i = 0; i < ops->n; i++) {
    const tsr__aug_op *o = &ops->op[i];
    const tsr__aug_params *pp = &plan->params[i];
    int sized = needs_size(o->kind);
    if (!sized && !pp->apply) continue;
    PUT("%s\"%d:%s\":", first ? "" : ",", i, kind_name[o->kind]);
    first = 0;
    switch (o->kind) {
    case TSR_AUG_RRC:
    case TSR_AUG_ERASE: PUT("[%d,%d,%d,%d]", pp->rect[0], pp->rect[1], pp->rect[2], pp->rect[3]); break;
    case TSR_AUG_ROTATE: PUT("%.6g", pp->v[0]); break;
    case TSR_AUG_AFFINE: PUT("[%.6g,%.6g,%.6g,%d,%d]", pp->v[0], pp->v[1], pp->v[2], (int)pp->v[3], (int)pp->v[4]); break;
    case TSR_AUG_JITTER: {
      int order[4];
      perm4((int)pp->v[4], order);
      PUT("{\"brightness\":%.6g,\"contrast\":%.6g,\"saturation\":%.6g,\"hue\":%.6g,\"order\":\"%c%c%c%c\"}", pp->v[0],
          pp->v[1], pp->v[2], pp->v[3], "bcsh"[order[0]], "bcsh"[order[1]], "bcsh"[order[2]], "bcsh"[order[3]]);
      break;
    }
    case TSR_AUG_BLUR: PUT("%.6g", pp->v[0]); break;
    default: PUT("1"); break;
    }
  }
  PUT("}");
#undef PUT
  return total;
}

void tsr__aug_region(const tsr__aug_exec *e, const tsr__aug_plan *plan, int denom, int src_w, int src_h, int r[4]) {
  const double *m = plan->m;
  double d = denom > 0 ? denom : 1, umin = 1e300, umax = -1e300, vmin = 1e300, vmax = -1e300;
  for (int k = 0; k < 4; k++) {
    double x = (k & 1) ? plan->out_w : 0, y = (k & 2) ? plan->out_h : 0;
    double u = (m[0] * x + m[1] * y + m[2]) / d, v = (m[3] * x + m[4] * y + m[5]) / d;
    umin = u < umin ? u : umin;
    umax = u > umax ? u : umax;
    vmin = v < vmin ? v : vmin;
    vmax = v > vmax ? v : vmax;
  }
  /* the taps (bicubic reaches 2 pixels) and libjpeg's edge columns */
  int margin = 3 + (16 / (int)d > 2 ? 16 / (int)d : 2);
  double lo[2] = {umin, vmin}, hi[2] = {umax, vmax};
  int size[2] = {src_w, src_h};
  for (int a = 0; a < 2; a++) {
    double l = floor(lo[a] - 0.5) - margin, h = ceil(hi[a] + 0.5) + margin;
    int full = e->border == TSR_AUG_REFLECT && (l < 0 || h > size[a]); /* reflected taps land anywhere */
    int i0 = full || l < 0 ? 0 : l > size[a] - 1 ? size[a] - 1 : (int)l;
    int i1 = full || h > size[a] ? size[a] : h < i0 + 1 ? i0 + 1 : (int)h;
    r[a] = i0;
    r[2 + a] = i1 - i0;
  }
}
