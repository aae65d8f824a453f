/* OUT/run.json: the job and the fingerprint of the options that determine
 * its outputs, so a re-run resumes only a run made the same way. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pipeline/pipeline.h"

/* "--interp: bilinear, now lanczos3; --size: ..." for every key that
 * differs, into msg. */
static void describe(const cJSON *old, const cJSON *now, char *msg, size_t n) {
  size_t len = 0;
  msg[0] = 0;
  for (const cJSON *k = now->child; k; k = k->next) {
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(old, k->string);
    if (o && cJSON_Compare(o, k, 1)) continue;
    char *a = o ? cJSON_PrintUnformatted(o) : NULL, *b = cJSON_PrintUnformatted(k);
    int w = snprintf(msg + len, n - len, "%s%s was %s, now %s", len ? "; " : "", k->string, a ? a : "(unset)",
                     b ? b : "?");
    cJSON_free(a);
    cJSON_free(b);
    if (w < 0 || (size_t)w >= n - len) return;
    len += (size_t)w;
  }
  for (const cJSON *k = old ? old->child : NULL; k; k = k->next) {
    if (cJSON_GetObjectItemCaseSensitive(now, k->string)) continue;
    int w = snprintf(msg + len, n - len, "%s%s is no longer set", len ? "; " : "", k->string);
    if (w < 0 || (size_t)w >= n - len) return;
    len += (size_t)w;
  }
}

tsr_status tsr__run_record(tsr_context *ctx, const char *outdir, const char *job, const cJSON *fingerprint,
                           int overwrite) {
  char path[4096];
  snprintf(path, sizeof path, "%s/run.json", outdir);
  struct stat sb;
  if (!overwrite && stat(path, &sb) == 0) {
    uint8_t *buf;
    size_t size;
    tsr_status st = tsr__read_file(ctx, path, &buf, &size);
    if (st) return st;
    cJSON *old = cJSON_ParseWithLength((const char *)buf, size);
    free(buf);
    const cJSON *oj = cJSON_GetObjectItemCaseSensitive(old, "job");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(old, "fingerprint");
    if (!cJSON_IsString(oj) || !cJSON_IsObject(of)) {
      cJSON_Delete(old);
      return tsr__fail(ctx, TSR_E_MISMATCH, "%s is not a tessera run record; use --overwrite to start afresh", path);
    }
    if (strcmp(oj->valuestring, job)) {
      tsr_status r = tsr__fail(ctx, TSR_E_MISMATCH, "%s holds the outputs of 'tessera %s', not %s; use another folder or --overwrite",
                               outdir, oj->valuestring, job);
      cJSON_Delete(old);
      return r;
    }
    if (!cJSON_Compare(of, fingerprint, 1)) {
      char what[768];
      describe(of, fingerprint, what, sizeof what);
      cJSON_Delete(old);
      return tsr__fail(ctx, TSR_E_MISMATCH,
                       "%s was made with other options (%s); re-run with the same options to resume, or add "
                       "--overwrite to redo everything",
                       outdir, what);
    }
    cJSON_Delete(old);
    return TSR_OK;
  }
  if (!overwrite) {
    /* Outputs without a record: made by an older tessera or by hand. */
    char man[4200];
    snprintf(man, sizeof man, "%s/manifest.jsonl", outdir);
    if (stat(man, &sb) == 0 && sb.st_size > 0)
      return tsr__fail(ctx, TSR_E_MISMATCH,
                       "%s holds a manifest but no run.json, so its options are unknown; add --overwrite to redo "
                       "everything", outdir);
  }
  cJSON *rec = cJSON_CreateObject();
  cJSON_AddStringToObject(rec, "job", job);
  cJSON_AddStringToObject(rec, "tessera", TSR_VERSION_STRING);
  cJSON_AddItemToObject(rec, "fingerprint", cJSON_Duplicate(fingerprint, 1));
  tsr_status st = tsr__write_json(ctx, path, rec);
  cJSON_Delete(rec);
  return st;
}

tsr_status tsr__outdir_lock(tsr_context *ctx, const char *outdir, int *fd) {
  return tsr__outdir_lock_as(ctx, outdir, ".tessera.lock", fd);
}

tsr_status tsr__outdir_lock_as(tsr_context *ctx, const char *outdir, const char *name, int *fd) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", outdir, name);
  *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (*fd < 0) return tsr__fail(ctx, TSR_E_IO, "%s: cannot create: %s", path, strerror(errno));
  if (flock(*fd, LOCK_EX | LOCK_NB) == 0) return TSR_OK;
  int e = errno;
  close(*fd);
  *fd = -1;
  if (e == EWOULDBLOCK)
    return tsr__fail(ctx, TSR_E_BUSY, "%s is being written by another tessera run; wait for it to finish or use "
                                      "another folder", outdir);
  return tsr__fail(ctx, TSR_E_IO, "%s: cannot lock: %s", path, strerror(e));
}

void tsr__outdir_unlock(int fd) {
  if (fd >= 0) close(fd); /* closing releases the lock */
}
