#!/usr/bin/env python3
"""`tessera augment` against torchvision.transforms.v2 and albumentations.

All three run one job on the same inputs: decode each JPEG, then, for every
one of C copies, a random resized crop to 224x224 (scale 0.08..1, aspect
ratio 3/4..4/3, bilinear with antialiasing), a horizontal flip with p=0.5,
a colour jitter (brightness 0.4, contrast 0.4, saturation 0.4, hue 0.1),
and a PNG encode (compression level 1 where the library lets us choose)
written to DIR/out_<library>/. Each input is decoded once and gives C
outputs, so one round writes N*C PNG files.

How each one runs, with the same number of CPU workers (--threads):
  tessera         one subprocess, `tessera augment ... --threads T`; timed
                  from spawn to exit (process start-up included), and its
                  peak RSS read from os.wait4's rusage.
  torchvision     a multiprocessing pool (spawn) of T processes, each
                  limited to one intra-op thread; torchvision.io.read_file +
                  decode_jpeg, the v2 transforms on the uint8 CHW tensor,
                  torchvision.io.encode_png + write_file.
  albumentations  the same kind of pool; cv2.imread + cvtColor to RGB,
                  A.Compose, cvtColor back to BGR + cv2.imwrite.
The pools are started and warmed (imports done and the whole pipeline run
once in every worker) before the clock starts, and shut down after the
round; only the map over the inputs is timed. The Python figures therefore
leave out interpreter and import start-up, and tessera's include its own.

albumentations' RandomResizedCrop has no antialias switch for bilinear;
it runs with area_for_downscale="image" (cv2.INTER_AREA whenever the crop
shrinks, cv2.INTER_LINEAR otherwise), the nearest it has to torchvision's
antialiased bilinear.

Rounds are interleaved (tessera, torchvision, albumentations, then again),
so a drift in the speed of shared cores touches all three alike; figures
are medians over rounds. Every output folder is deleted before its round
(untimed). If the tessera binary is missing or `tessera augment` fails,
the script says so and goes on with the two Python libraries.

The inputs are made once (and reused while N and the seed match) from the
photos in tests/data: random crops between 500x375 and 1024x768 (smaller
where the photo is) of earth_2048x1024.jpg and motorcycle_q/im0.png, saved
as JPEG quality 90 under DIR/in/a/ and DIR/in/b/.

The Python libraries live in a virtual environment used for this
comparison only; tessera itself needs none of it:
    python3 -m venv VENV && VENV/bin/pip install -r bench/augment_compare_requirements.txt
(on Linux, PyPI's torch wheel brings CUDA libraries along; add
`--extra-index-url https://download.pytorch.org/whl/cpu` where that index
can be reached to get the smaller CPU build instead.)

usage, from the repository root:
    VENV/bin/python bench/augment_compare.py --tessera build/tessera \\
        --images 200 --copies 4 --rounds 5 --threads 2 --out /tmp/aug-cmp \\
        [--json results.json]
"""
import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time

LIBS = ("tessera", "torchvision", "albumentations")
OPS = "rrc(size=224); hflip; jitter(brightness=0.4,contrast=0.4,saturation=0.4,hue=0.1)"
SIZE = 224
PNG_LEVEL = 1
# Output format, png or npy (uint8 HWC arrays, as ML loaders read): set by
# --format; spawned workers read it from the environment.
FORMAT = os.environ.get("AUG_COMPARE_FORMAT", "png")
LABELS = ("a", "b")
INPUT_SEED = 20240613
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = ("tests/data/earth_2048x1024.jpg", "tests/data/motorcycle_q/im0.png")


# ---------------------------------------------------------------- inputs

def make_inputs(out_dir, n):
    """Writes n JPEGs under out_dir/in/<label>/ unless a matching set is
    there already; returns the list of their paths."""
    import numpy as np
    from PIL import Image

    in_dir = os.path.join(out_dir, "in")
    stamp_path = os.path.join(out_dir, "in.json")  # beside the folder, not in it
    stamp = {"images": n, "seed": INPUT_SEED, "sources": list(SOURCES), "quality": 90}
    paths = [os.path.join(in_dir, LABELS[i % 2], "img%05d.jpg" % i) for i in range(n)]
    try:
        with open(stamp_path) as f:
            if json.load(f) == stamp and all(os.path.isfile(p) for p in paths):
                return paths
    except (OSError, ValueError):
        pass
    for src in SOURCES:
        if not os.path.isfile(os.path.join(REPO, src)):
            sys.exit("augment_compare: source photo %s is missing" % src)
    shutil.rmtree(in_dir, ignore_errors=True)
    for label in LABELS:
        os.makedirs(os.path.join(in_dir, label))
    photos = [np.asarray(Image.open(os.path.join(REPO, s)).convert("RGB")) for s in SOURCES]
    rng = np.random.default_rng(INPUT_SEED)
    for i, path in enumerate(paths):
        photo = photos[int(rng.integers(len(photos)))]
        ph, pw = photo.shape[:2]
        w = min(int(rng.integers(500, 1025)), pw)
        h = min(int(rng.integers(375, 769)), ph)
        x = int(rng.integers(0, pw - w + 1))
        y = int(rng.integers(0, ph - h + 1))
        Image.fromarray(photo[y:y + h, x:x + w]).save(path, "JPEG", quality=90)
    with open(stamp_path, "w") as f:
        json.dump(stamp, f)
    return paths


def count_pngs(folder):
    total = 0
    for _, _, files in os.walk(folder):
        total += sum(1 for name in files if name.lower().endswith("." + FORMAT))
    return total


# --------------------------------------------------------------- tessera

def run_tessera(binary, in_dir, out_dir, copies, threads, log_path):
    """One timed `tessera augment` run: (seconds, peak RSS in bytes, exit
    status, command). Output goes to log_path."""
    cmd = [binary, "augment", in_dir, "-o", out_dir, "--seed", "1", "--copies", str(copies),
           "--ops", OPS, "--format", FORMAT, "--threads", str(threads), "--device", "cpu", "--overwrite"]
    with open(log_path, "wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, tell Popen
    # ru_maxrss is in kilobytes on Linux
    return seconds, usage.ru_maxrss * 1024, proc.returncode, cmd


def log_excerpt(path, head=8, tail=4):
    """The first and last lines of a log (errors come first in usage
    dumps, last in crashes)."""
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").rstrip().splitlines()
    except OSError:
        return ""
    if len(lines) > head + tail + 1:
        lines = lines[:head] + ["..."] + lines[-tail:]
    return "\n".join(lines)


# ------------------------------------------------------ pool workers
# These run in the spawned worker processes only.

_W = {}


def _setup_worker(lib, base_seed, counter, warm_item, warm_dir, barrier):
    """Pool initializer: import the library, pin to one thread, seed
    (base_seed + the worker's start order), run the whole pipeline once,
    then wait until every worker (and the parent) is ready. A failure is
    kept and raised by the first task instead of letting the pool restart
    the worker forever."""
    try:
        with counter.get_lock():
            seed = base_seed + counter.value
            counter.value += 1
        os.environ["OMP_NUM_THREADS"] = "1"
        os.environ["NO_ALBUMENTATIONS_UPDATE"] = "1"  # no version check over the network
        import torch
        torch.set_num_threads(1)
        torch.set_num_interop_threads(1)
        torch.manual_seed(seed)
        _W["lib"] = lib
        if lib == "torchvision":
            import inspect
            import torchvision.io as tio
            from torchvision.transforms import v2
            _W["tio"] = tio
            _W["tf"] = v2.Compose([
                v2.RandomResizedCrop(SIZE, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                                     interpolation=v2.InterpolationMode.BILINEAR, antialias=True),
                v2.RandomHorizontalFlip(p=0.5),
                v2.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1),
            ])
            if "compression_level" in inspect.signature(tio.encode_png).parameters:
                _W["png"] = "torchvision"
            else:  # older torchvision: PIL can set the level
                from PIL import Image
                _W["png"], _W["pil"] = "pil", Image
        else:
            import cv2
            import albumentations as A
            cv2.setNumThreads(1)
            _W["cv2"] = cv2
            _W["tf"] = A.Compose([
                A.RandomResizedCrop(size=(SIZE, SIZE), scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                                    interpolation=cv2.INTER_LINEAR, area_for_downscale="image", p=1.0),
                A.HorizontalFlip(p=0.5),
                A.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=1.0),
            ], seed=seed)
        src, _ = warm_item
        _augment_one((src, os.path.join(warm_dir, "w%d" % os.getpid()), 1))
    except BaseException as e:  # noqa: BLE001 - reported by the first task
        _W["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        try:
            barrier.wait(timeout=600)
        except Exception:  # noqa: BLE001 - the parent reports the broken barrier
            pass


def _augment_one(item):
    """Decodes one input and writes its copies; returns (pid, peak RSS
    of this worker so far, in kilobytes)."""
    if "error" in _W:
        raise RuntimeError("worker set-up failed: " + _W["error"])
    src, dst_base, copies = item
    if _W["lib"] == "torchvision":
        tio, tf = _W["tio"], _W["tf"]
        img = tio.decode_jpeg(tio.read_file(src), mode=tio.ImageReadMode.RGB)
        for k in range(copies):
            out = tf(img)
            if FORMAT == "npy":
                import numpy as np
                np.save("%s_%d.npy" % (dst_base, k), out.permute(1, 2, 0).numpy())
                continue
            path = "%s_%d.png" % (dst_base, k)
            if _W["png"] == "torchvision":
                tio.write_file(path, tio.encode_png(out, compression_level=PNG_LEVEL))
            else:
                _W["pil"].fromarray(out.permute(1, 2, 0).numpy()).save(path, compress_level=PNG_LEVEL)
    else:
        cv2, tf = _W["cv2"], _W["tf"]
        bgr = cv2.imread(src, cv2.IMREAD_COLOR)
        if bgr is None:
            raise RuntimeError("cv2 could not read " + src)
        img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        for k in range(copies):
            out = tf(image=img)["image"]
            if FORMAT == "npy":
                import numpy as np
                np.save("%s_%d.npy" % (dst_base, k), out)
                continue
            path = "%s_%d.png" % (dst_base, k)
            if not cv2.imwrite(path, cv2.cvtColor(out, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_PNG_COMPRESSION, PNG_LEVEL]):
                raise RuntimeError("cv2 could not write " + path)
    import resource
    return os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_pool(lib, items, out_dir, copies, workers, round_idx, scratch):
    """One round of a Python library: start and warm the pool (untimed),
    time the map, shut the pool down. Returns (seconds, summed peak RSS of
    the workers in bytes)."""
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(workers + 1)
    warm_dir = os.path.join(scratch, "warm_" + lib)
    os.makedirs(warm_dir, exist_ok=True)
    counter = ctx.Value("i", 0)
    pool = ctx.Pool(workers, initializer=_setup_worker,
                    initargs=(lib, 1000 * (round_idx + 1), counter, items[0], warm_dir, barrier))
    try:
        barrier.wait(timeout=600)
        jobs = [(src, os.path.join(out_dir, rel), copies) for src, rel in items]
        chunk = max(1, min(8, len(jobs) // (workers * 8)))
        t0 = time.perf_counter()
        for label in LABELS:
            os.makedirs(os.path.join(out_dir, label), exist_ok=True)
        results = pool.map(_augment_one, jobs, chunksize=chunk)
        seconds = time.perf_counter() - t0
    finally:
        pool.close()
        pool.join()
        shutil.rmtree(warm_dir, ignore_errors=True)
    peak = {}
    for pid, rss_kb in results:
        peak[pid] = max(peak.get(pid, 0), rss_kb)
    return seconds, sum(peak.values()) * 1024


# ---------------------------------------------------------------- report

def versions():
    from importlib import metadata
    out = {"python": platform.python_version()}
    for dist in ("torch", "torchvision", "albumentations", "albucore", "opencv-python-headless",
                 "pillow", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def tessera_version(binary):
    try:
        r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
        text = (r.stdout or r.stderr).strip()
        return text.splitlines()[0] if r.returncode == 0 and text else None
    except (OSError, subprocess.SubprocessError):
        return None


def mib(nbytes):
    return "%.1f MiB" % (nbytes / 2**20) if nbytes else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tessera", default="build/tessera", help="tessera binary (default build/tessera)")
    ap.add_argument("--images", type=int, default=200, help="input JPEGs (default 200)")
    ap.add_argument("--copies", type=int, default=4, help="augmented copies per input (default 4)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--threads", type=int, default=2,
                    help="tessera --threads and the Python pools' process count (default 2)")
    ap.add_argument("--out", required=True, help="work folder: inputs, outputs, logs")
    ap.add_argument("--json", help="write raw per-round figures here")
    ap.add_argument("--format", choices=("png", "npy"), default="png",
                    help="outputs: PNG (level 1 everywhere) or .npy arrays (default png)")
    args = ap.parse_args()
    global FORMAT
    FORMAT = args.format
    os.environ["AUG_COMPARE_FORMAT"] = FORMAT
    if args.images < 1 or args.copies < 1 or args.rounds < 1 or args.threads < 1:
        ap.error("--images, --copies, --rounds and --threads must be at least 1")

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    in_dir = os.path.join(out, "in")
    t0 = time.perf_counter()
    paths = make_inputs(out, args.images)
    print("inputs: %d JPEGs in %s (%.1f s to check or make)" % (len(paths), in_dir, time.perf_counter() - t0))
    items = [(p, os.path.splitext(os.path.relpath(p, in_dir))[0]) for p in paths]
    outputs = args.images * args.copies

    tessera = args.tessera
    tessera_cmd = None
    tessera_skip = None
    if not os.path.isfile(tessera):
        tessera_skip = "binary %s does not exist" % tessera
    elif not os.access(tessera, os.X_OK):
        tessera_skip = "binary %s is not executable" % tessera
    if tessera_skip:
        print("tessera: SKIPPED, %s; running the Python libraries only" % tessera_skip)

    times = {lib: [] for lib in LIBS}
    rss = {lib: [] for lib in LIBS}
    counts = {lib: [] for lib in LIBS}
    for r in range(args.rounds):
        parts = []
        for lib in LIBS:
            if lib == "tessera" and tessera_skip:
                continue
            dst = os.path.join(out, "out_" + lib)
            shutil.rmtree(dst, ignore_errors=True)
            if lib == "tessera":
                log = os.path.join(out, "tessera_round%d.log" % (r + 1))
                secs, peak, code, tessera_cmd = run_tessera(tessera, in_dir, dst, args.copies, args.threads, log)
                if code != 0:
                    tessera_skip = "`tessera augment` exited with status %d (log: %s)" % (code, log)
                    print("tessera: FAILED in round %d, %s; running the Python libraries only"
                          % (r + 1, tessera_skip))
                    tail = log_excerpt(log)
                    if tail:
                        print("  " + tail.replace("\n", "\n  "))
                    continue
            else:
                secs, peak = run_pool(lib, items, dst, args.copies, args.threads, r, out)
            n = count_pngs(dst)
            times[lib].append(secs)
            rss[lib].append(peak)
            counts[lib].append(n)
            note = "" if n == outputs else " [%d PNGs, expected %d]" % (n, outputs)
            parts.append("%s %.2f s, peak RSS %s%s" % (lib, secs, mib(peak), note))
        print("round %d/%d: %s" % (r + 1, args.rounds, "; ".join(parts)), flush=True)

    med = {lib: statistics.median(t) for lib, t in times.items() if t}
    vers = versions()
    tv = tessera_version(tessera) if "tessera" in med else None
    lib_version = {"tessera": tv or "-", "torchvision": vers["torchvision"],
                   "albumentations": vers["albumentations"]}
    print()
    print("%d inputs x %d copies = %d PNG outputs per round, %d worker(s), %d round(s), median over rounds"
          % (args.images, args.copies, outputs, args.threads, args.rounds))
    print("CPU: %s" % cpu_model())
    print()
    print("| library | version | median s | min s | images/s | tessera speed-up | peak RSS (median) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for lib in LIBS:
        if lib not in med:
            print("| %s | %s | - | - | - | - | - |" % (lib, lib_version[lib]))
            continue
        speed = ("%.2fx" % (med[lib] / med["tessera"])) if "tessera" in med else "-"
        print("| %s | %s | %.3f | %.3f | %.1f | %s | %s |"
              % (lib, lib_version[lib], med[lib], min(times[lib]), outputs / med[lib], speed,
                 mib(statistics.median(rss[lib]))))
    print()
    print("peak RSS: tessera's process; for the Python libraries the sum of the workers' peaks "
          "(the parent not counted), library imports included.")
    ratios = {}
    if "tessera" in med:
        for lib in ("torchvision", "albumentations"):
            if lib in med:
                ratios["tessera/" + lib] = med[lib] / med["tessera"]
                print("throughput tessera/%s: %.2f" % (lib, ratios["tessera/" + lib]))
        print("tessera peak RSS per round: %s" % ", ".join(mib(b) for b in rss["tessera"]))
    else:
        print("tessera: no figures (%s)" % tessera_skip)

    if args.json:
        record = {
            "command": " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv),
            "tessera_command": " ".join(shlex.quote(a) for a in tessera_cmd) if tessera_cmd else None,
            "tessera_skipped": tessera_skip,
            "tessera_version": tv,
            "versions": vers,
            "cpu": cpu_model(),
            "logical_cpus": os.cpu_count(),
            "images": args.images,
            "copies": args.copies,
            "outputs_per_round": outputs,
            "rounds": args.rounds,
            "threads": args.threads,
            "ops": OPS,
            "format": FORMAT,
            "png_compression_level": PNG_LEVEL,
            "seconds": times,
            "peak_rss_bytes": rss,
            "pngs_written": counts,
            "median_seconds": med,
            "images_per_second": {lib: outputs / s for lib, s in med.items()},
            "throughput_ratio": ratios,
        }
        with open(args.json, "w") as f:
            json.dump(record, f, indent=2)
            f.write("\n")
        print("wrote %s" % args.json)


if __name__ == "__main__":
    main()
