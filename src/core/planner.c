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
