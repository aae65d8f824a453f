/* tessera augment's operation list (issue 13, first part): the --ops
 * grammar, parsed with errors that name the op and the argument, and each
 * op's parameters drawn from Philox4x32-10 (cl/philox.h) keyed only by
 * (seed, hash of the item's relative path, copy index, op index), so a
 * draw never depends on order, thread, batch, shard or device.
 *
 * Grammar: ops separated by ';', ',' or spaces outside parentheses; each
 * op is NAME or NAME(key=value, ...); a value is a number, a range a:b, a
 * size WxH (or N), or a word. The ops and their keys (defaults):
 *   rrc(size=, scale=0.08:1, ratio=0.75:1.3333, interp=bilinear)  random resized crop
 *   hflip(p=0.5)  vflip(p=0.5)
 *   rotate(deg=, border=constant, fill=0, p=1)        deg: a:b, or v for -v:v
 *   affine(translate=0, scale=1:1, shear=0:0, deg=0:0, border=constant, fill=0, p=1)
 *   jitter(brightness=0, contrast=0, saturation=0, hue=0, p=1)   factors as torchvision's
 *   gray(p=0.1)
 *   blur(sigma=0.1:2, p=0.5)
 *   erase(area=0.02:0.33, ratio=0.3:3.3, value=0, p=0.5)
 *   resize(size=, interp=bilinear, aa=1)              size N: the shorter side
 *   ccrop(size=)
 *   letterbox(size=, fill=114) */
#ifndef TSR_AUGMENT_OPS_H
#define TSR_AUGMENT_OPS_H

#include "core/internal.h"

typedef enum {
  TSR_AUG_RRC,
  TSR_AUG_HFLIP,
  TSR_AUG_VFLIP,
  TSR_AUG_ROTATE,
  TSR_AUG_AFFINE,
  TSR_AUG_JITTER,
  TSR_AUG_GRAY,
  TSR_AUG_BLUR,
  TSR_AUG_ERASE,
  TSR_AUG_RESIZE,
  TSR_AUG_CCROP,
  TSR_AUG_LETTERBOX,
  TSR_AUG_NKINDS
} tsr__aug_kind;

typedef enum { TSR_AUG_NEAREST, TSR_AUG_BILINEAR, TSR_AUG_BICUBIC, TSR_AUG_AREA } tsr__aug_interp;
typedef enum { TSR_AUG_CONSTANT, TSR_AUG_REPLICATE, TSR_AUG_REFLECT } tsr__aug_border;

typedef struct {
  double lo, hi;
} tsr__aug_range;

/* One parsed op: its kind and every argument (unused ones keep their
 * defaults). */
typedef struct {
  tsr__aug_kind kind;
  double p;                /* probability that it applies */
  int w, h;                /* size; h = 0: w is the shorter side (resize) or the square's side */
  tsr__aug_range scale, ratio, deg, shear, sigma, area;
  double translate;        /* affine: largest shift, fraction of the size */
  double brightness, contrast, saturation, hue;
  int interp, border, fill, aa;
} tsr__aug_op;

#define TSR_AUG_MAX_OPS 32
typedef struct {
  tsr__aug_op op[TSR_AUG_MAX_OPS];
  int n;
} tsr__aug_ops;

/* Parses text; errors name the op and the argument ("--ops: rotate: deg
 * 'abc' is not a number or a range a:b"). */
tsr_status tsr__aug_parse(tsr_context *ctx, const char *text, tsr__aug_ops *ops);
/* The canonical form of the list (every argument, defaults filled in): what
 * a run record keeps, so equal lists compare equal. Returns the length
 * written (as snprintf). */
int tsr__aug_canonical(const tsr__aug_ops *ops, char *out, size_t n);

/* The drawn parameters of one op for one item and copy: whether it
 * applies and its values (meaning per kind: see tsr__aug_draw). */
typedef struct {
  int apply;
  double v[6];
  int rect[4]; /* rrc, erase: x, y, w, h in the input */
} tsr__aug_params;

/* The key of an item: xxHash64 of its path relative to its input root. */
uint64_t tsr__aug_path_hash(const char *relpath);
/* Op i's parameters for an input of w x h (the size it has when the op
 * runs): Philox counter (copy, i << 8 | block, hash low, hash high), key
 * (seed low, seed high); one block of four words per draw group.
 *   rrc: rect;  rotate: v[0] degrees;  affine: v[0] degrees, v[1] scale,
 *   v[2] shear degrees, v[3], v[4] shift in pixels;  jitter: v[0]
 *   brightness, v[1] contrast, v[2] saturation factors, v[3] hue shift
 *   (turns), v[4] the order of the four (an index of the 24 orders);
 *   blur: v[0] sigma;  erase: rect;  flips, gray: apply only. */
void tsr__aug_draw(const tsr__aug_op *op, int i, uint64_t seed, uint64_t path_hash, uint32_t copy, int w, int h,
                   tsr__aug_params *out);

/* One item's copy, planned: every op's draw in order (each at the size
 * the image has when it runs), and the geometric ops (rrc, flips, rotate,
 * affine, resize, ccrop, letterbox) composed into one affine map from the
 * output back to the input, so the pixels are sampled once. Coordinates
 * are continuous (pixel i covers [i, i + 1)): the input point of output
 * point (x, y) is (m[0] x + m[1] y + m[2], m[3] x + m[4] y + m[5]).
 * Angles turn counter-clockwise on the screen (y down), as torchvision's. */
typedef struct {
  tsr__aug_params params[TSR_AUG_MAX_OPS];
  double m[6];
  int out_w, out_h;
  int geometric; /* some geometric op applied */
} tsr__aug_plan;
void tsr__aug_plan_item(const tsr__aug_ops *ops, uint64_t seed, uint64_t path_hash, uint32_t copy, int in_w, int in_h,
                        tsr__aug_plan *plan);


/* ---- execution --------------------------------------------------------------
 * A planned copy turned into what the pixel code of cl/augment.h runs:
 * the pixel ops listed before the first geometric op (pre, on the input),
 * the one resample (the composed map in Q16), and the pixel ops after the
 * last geometric op (post, on the output). tsr__aug_parse refuses a pixel
 * op between two geometric ops. Jitter becomes its four parts in their
 * drawn order; blur its Q14 taps; erase its rectangle. */
#include "augment.h"
typedef struct {
  int kind; /* TSR_AUGP_* */
  int32_t a, b;
  int rect[4];
  int32_t taps[2 * TSR_AUG_BLUR_MAX_R + 1];
} tsr__aug_pix;

#define TSR_AUG_MAX_PIX (4 * TSR_AUG_MAX_OPS)
typedef struct {
  int in_w, in_h, ch, out_w, out_h;
  int warp;     /* 0: no geometric op applies; the output is the input */
  int64_t q[6]; /* cl/augment.h's map */
  int interp;   /* 0 nearest, 1 bilinear, 2 bicubic */
  int sub;      /* 2^sub x 2^sub points per output pixel */
  int border, fill;
  tsr__aug_pix pre[TSR_AUG_MAX_PIX], post[TSR_AUG_MAX_PIX];
  int npre, npost;
} tsr__aug_exec;

/* The largest shrink of the plan's map (input pixels per output pixel along
 * either output axis); 0 when no geometric op applies. */
double tsr__aug_shrink(const tsr__aug_plan *plan);
/* Builds the execution of a plan for an input of in_w x in_h (ch 1..4)
 * that was decoded at 1 / denom of the size the plan was drawn for
 * (denom 1, or a JPEG's DCT scale) and starts at (off_x, off_y) of that
 * decode (a region; 0, 0 for the whole image). Scales and regions only
 * where no pixel op runs before the geometry. */
void tsr__aug_exec_make(const tsr__aug_ops *ops, const tsr__aug_plan *plan, int in_w, int in_h, int ch, int denom,
                        int off_x, int off_y, tsr__aug_exec *e);
/* The region of a src_w x src_h decode (at 1 / denom) that the plan's
 * resample reads: x, y, w, h in r, with margins for the taps and for
 * libjpeg's edge columns, clipped to the image (the whole axis where a
 * reflecting border looks outside it). e: the plan's execution (its
 * border). */
void tsr__aug_region(const tsr__aug_exec *e, const tsr__aug_plan *plan, int denom, int src_w, int src_h, int r[4]);
/* Whether the list has pixel ops before its geometry (they need the
 * input at its full size). */
int tsr__aug_has_pre(const tsr__aug_ops *ops);

/* CPU backend (cpu/augment_cpu.c), one thread: src (in_w x in_h x ch,
 * packed) into dst (out_w x out_h x ch, packed). work: NULL, or scratch
 * the function may grow (freed by the caller with free()). */
typedef struct {
  uint8_t *buf;
  size_t cap;
} tsr__aug_scratch;
tsr_status tsr__aug_run_cpu(const tsr__aug_exec *e, const uint8_t *src, uint8_t *dst, tsr__aug_scratch *work);
/* OpenCL backend (src/ops/augment_cl.c): one execution of one frame (src
 * in_w x in_h x ch, packed) into out (out_w x out_h x ch) on ctx's
 * device, buffers charged to its ledger for the call. An error is the
 * device's (TSR_E_DEVICE when it failed) or out of memory. */
tsr_status tsr__aug_run_cl(tsr_context *ctx, const tsr__aug_exec *e, const uint8_t *src, uint8_t *out);
/* The drawn parameters of a plan as a JSON object (the manifest's column):
 * the ops that applied, by name, with their values. Returns as snprintf. */
int tsr__aug_params_json(const tsr__aug_ops *ops, const tsr__aug_plan *plan, char *out, size_t n);

#endif
