/* tessera: a portable compute engine for image pipelines. This header
 * includes the whole public API; each part has its own header:
 *   tessera/core.h   status codes, devices, memory planning, contexts
 *   tessera/image.h  images and codecs
 *   tessera/warp.h   the generic warp and its view geometry
 *   tessera/rig.h    rigs of 360° views and their camera geometry
 *   tessera/split.h  360° frames to perspective views
 *   tessera/merge.h  views back into a panorama
 *   tessera/stereo.h disparity of rectified pairs */
#ifndef TESSERA_H
#define TESSERA_H

#include "tessera/core.h"
#include "tessera/image.h"
#include "tessera/warp.h"
#include "tessera/rig.h"
#include "tessera/split.h"
#include "tessera/merge.h"
#include "tessera/stereo.h"
#include "tessera/augment.h"

#endif
