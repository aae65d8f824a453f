/* The one planner: a device budget and an operation's declared memory need
 * become a batch size. Operations never size their own batches. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/internal.h"

uint64_t tsr_device_budget(const tsr_device_info *dev, uint64_t override_bytes) {
  if (override_bytes) return override_bytes;
  uint64_t g = dev->global_mem;
  uint64_t by_fraction = (uint64_t)((double)g * TSR_BUDGET_FRACTION);
  uint64_t by_headroom = g > TSR_BUDGET_HEADROOM ? g - TSR_BUDGET_HEADROOM : 0;
  uint64_t b = by_fraction < by_headroom ? by_fraction : by_headroom;
  /* A device smaller than the headroom would get nothing; give it the
   * fraction instead. */
  if (b == 0) b = by_fraction;
  if (dev->free_mem && dev->free_mem < b) b = dev->free_mem;
  return b;
}

tsr_status tsr_plan_batch(const tsr_mem_need *need, uint64_t budget, uint64_t max_alloc, int max_items,
                          tsr_plan *plan) {
  if (!need || !plan || max_items < 1 || need->nbuffers < 0 || need->nbuffers > TSR_PLAN_MAX_BUFFERS)
    return TSR_E_INVALID;
  memset(plan, 0, sizeof *plan);
  uint64_t per_item = 0;
  for (int i = 0; i < need->nbuffers; i++) per_item += need->item_bytes[i];
  if (need->fixed_bytes >= budget) return TSR_E_BUDGET;
  uint64_t batch = per_item ? (budget - need->fixed_bytes) / per_item : (uint64_t)max_items;
  for (int i = 0; i < need->nbuffers; i++)
    if (need->item_bytes[i] && max_alloc) {
      uint64_t by_alloc = max_alloc / need->item_bytes[i];
      if (by_alloc < batch) batch = by_alloc;
    }
  if (batch < 1) return TSR_E_BUDGET;
  if (batch > (uint64_t)max_items) batch = (uint64_t)max_items;
  plan->batch = (int)batch;
  plan->bytes = need->fixed_bytes + batch * per_item;
  for (int i = 0; i < need->nbuffers; i++)
    if (batch * need->item_bytes[i] > plan->largest_buffer) plan->largest_buffer = batch * need->item_bytes[i];
  return TSR_OK;
}

static uint64_t region_need(const tsr_tile_need *n, int rw, int rh) {
  return n->fixed_bytes + n->pixel_bytes * (uint64_t)rw * (uint64_t)rh + n->row_bytes * (uint64_t)rh +
         n->column_bytes * (uint64_t)rw;
}

/* The largest region of cores of `core` pixels over `size`: a core with
 * its margin on both sides, clipped to the image. */
static int region_of(int size, int core, int margin) {
  int n = (size + core - 1) / core;
  if (n == 1) return size;
  int64_t r = (int64_t)core + 2 * (int64_t)margin;
  return r < size ? (int)r : size;
}

static int fits(const tsr_tile_need *n, int rw, int rh, uint64_t budget, uint64_t max_alloc) {
  if (region_need(n, rw, rh) > budget) return 0;
  return !max_alloc || n->largest_pixel_bytes * (uint64_t)rw * (uint64_t)rh <= max_alloc;
}

tsr_status tsr_plan_tiles(const tsr_tile_need *need, int width, int height, uint64_t budget, uint64_t max_alloc,
                          int core_w, int core_h, tsr_tile_plan *plan) {
  if (!need || !plan || width < 1 || height < 1 || need->margin < 0 || core_w < 0 || core_h < 0)
    return TSR_E_INVALID;
  memset(plan, 0, sizeof *plan);
  if (core_w || core_h) {
    int cw = core_w && core_w < width ? core_w : width, ch = core_h && core_h < height ? core_h : height;
    int rw = region_of(width, cw, need->margin), rh = region_of(height, ch, need->margin);
    if (!fits(need, rw, rh, budget, max_alloc)) return TSR_E_BUDGET;
    *plan = (tsr_tile_plan){(width + cw - 1) / cw, (height + ch - 1) / ch, cw, ch, rw, rh, region_need(need, rw, rh)};
    return TSR_OK;
  }
  int min_core = need->min_core > 0 ? need->min_core : 16;
  uint64_t best_cost = UINT64_MAX;
  for (int nx = 1; nx <= width; nx++) {
    int cw = (width + nx - 1) / nx;
    if ((width + cw - 1) / cw != nx) continue; /* the same grid as a smaller nx */
    if (nx > 1 && cw < min_core) break;
    int rw = region_of(width, cw, need->margin);
    /* the fewest rows of tiles that fit: regions shrink as ny grows */
    int lo = 1, hi = height, found = 0;
    while (lo <= hi) {
      int ny = lo + (hi - lo) / 2, ch = (height + ny - 1) / ny;
      if (fits(need, rw, region_of(height, ch, need->margin), budget, max_alloc)) {
        found = ny;
        hi = ny - 1;
      } else {
        lo = ny + 1;
      }
    }
    if (!found) continue;
    int ch = (height + found - 1) / found, ny = (height + ch - 1) / ch;
    if (ny > 1 && ch < min_core) continue;
    int rh = region_of(height, ch, need->margin);
    /* computed pixels: every region, the clipped ones at the edges too
     * (a region is its column's width times its row's height) */
    uint64_t sw = 0, sh = 0;
    for (int i = 0; i < nx; i++) {
      int a = i * cw - need->margin, b = (i + 1) * cw + need->margin;
      sw += (uint64_t)((nx == 1 || b > width ? width : b) - (nx == 1 || a < 0 ? 0 : a));
    }
    for (int k = 0; k < ny; k++) {
      int a = k * ch - need->margin, b = (k + 1) * ch + need->margin;
      sh += (uint64_t)((ny == 1 || b > height ? height : b) - (ny == 1 || a < 0 ? 0 : a));
    }
    uint64_t cost = sw * sh;
    if (cost < best_cost || (cost == best_cost && nx * ny < plan->nx * plan->ny)) {
      best_cost = cost;
      *plan = (tsr_tile_plan){nx, ny, cw, ch, rw, rh, region_need(need, rw, rh)};
    }
    if (nx == 1 && ny == 1) break;
  }
  return best_cost == UINT64_MAX ? TSR_E_BUDGET : TSR_OK;
}

tsr_status tsr_parse_bytes(const char *text, uint64_t *bytes) {
  if (!text || !bytes) return TSR_E_INVALID;
  errno = 0;
  char *end;
  double v = strtod(text, &end);
  if (end == text || errno || !isfinite(v) || v < 0) return TSR_E_INVALID; /* "nan", "inf" */
  while (isspace((unsigned char)*end)) end++;
  double mul = 1;
  switch (toupper((unsigned char)*end)) {
  case 0: break;
  case 'K': mul = 1024.0; end++; break;
  case 'M': mul = 1024.0 * 1024; end++; break;
  case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
  case 'T': mul = 1024.0 * 1024 * 1024 * 1024; end++; break;
  default: return TSR_E_INVALID;
  }
  if (mul > 1 && (!strcasecmp(end, "iB") || !strcasecmp(end, "B"))) end += strlen(end);
  if (*end) return TSR_E_INVALID;
  double r = v * mul;
  if (r >= 18446744073709551615.0) return TSR_E_INVALID;
  *bytes = (uint64_t)r;
  return TSR_OK;
}
