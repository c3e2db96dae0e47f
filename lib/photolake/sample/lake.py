"""A lake as the pipeline writes it, generated directly (no Spark, no images unless asked): every table the
service reads, in the lake's schemas, at any size. For the service's tests and its benchmark, where a
million-photo lake is needed in a minute rather than a pipeline run over a million images.

The values follow the sample release's vocabulary (photolake.sample.vocabulary); the proportions are stated
in ``LakeShape``. Deterministic: the same shape and seed give the same tables.
"""

from __future__ import annotations

import base64
import json
import posixpath
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql.pandas.types import to_arrow_schema

from photolake import lake_version
from photolake.camera import normalise_make
from photolake.extract.colors import color_family, nearest_css_name
from photolake.extract.image import size_category
from photolake.sample import vocabulary as vocab
from photolake.schemas import LAKE_TABLES, RECOMMEND_MODELS

# The detector's classes the generated photos show, most common first (COCO's names).
OBJECTS = ("person", "car", "dog", "cat", "bird", "boat", "bicycle", "chair", "bottle", "cup", "potted plant",
           "bench", "umbrella", "horse", "truck", "book", "clock", "train", "airplane", "laptop")
DETECTOR = "yolov3"
ROWS_PER_FILE = 250_000


@dataclass(frozen=True)
class LakeShape:
    photos: int = 1000
    users: int = 0  # 0: one user per 20 photos
    keywords_per_photo: int = 8
    objects_per_photo: float = 1.6
    interactions_per_user: int = 20
    recommendations_per_user: int = 10
    clusters: int = 8
    images: int = 0  # photos that also get an image file (painted), for pages that show them
    seed: int = 7

    @property
    def user_count(self) -> int:
        return self.users or max(10, self.photos // 20)


def _ids(rng: np.random.Generator, n: int, width: int = 11) -> np.ndarray:
    raw = rng.integers(0, 256, size=(n, 9), dtype=np.uint8).tobytes()
    return np.array([base64.urlsafe_b64encode(raw[i * 9:(i + 1) * 9])[:width].decode() for i in range(n)])


def _arrow_schema(table: str) -> pa.Schema:
    return to_arrow_schema(LAKE_TABLES[table], timezone="UTC")


def _write(root: Path, table: str, columns: dict, partition: str | None = None) -> int:
    """Write one table in its lake schema (columns missing from ``columns`` are null); returns its rows."""
    schema = _arrow_schema(table)
    rows = len(next(iter(columns.values())))
    arrays = [columns[f.name] if isinstance(columns.get(f.name), pa.Array)
              else pa.array(columns[f.name], type=f.type) if f.name in columns else pa.nulls(rows, f.type)
              for f in schema]
    data = pa.Table.from_arrays(arrays, schema=schema)
    folder = root / table
    groups = [(None, data)] if partition is None else [
        (value, data.filter(pa.compute.equal(data[partition], value)).drop_columns([partition]))
        for value in sorted(set(data[partition].to_pylist()))]
    for value, part in groups:
        target = folder if value is None else folder / f"{partition}={value}"
        target.mkdir(parents=True, exist_ok=True)
        for n, start in enumerate(range(0, max(part.num_rows, 1), ROWS_PER_FILE)):
            pq.write_table(part.slice(start, ROWS_PER_FILE), target / f"part-{n:05d}.snappy.parquet",
                           compression="snappy")
    return rows


def _structs(fields: dict[str, np.ndarray], offsets: np.ndarray, struct_type: pa.StructType) -> pa.Array:
    values = pa.StructArray.from_arrays([pa.array(fields[f.name], type=f.type) for f in struct_type],
                                        fields=list(struct_type))
    return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), values)


def _draw(rng: np.random.Generator, values: list, n: int) -> np.ndarray:
    return np.array(values, dtype=object)[rng.integers(0, len(values), n)]


def _offsets(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)


def _timestamps(seconds: np.ndarray) -> pa.Array:
    return pa.array(seconds.astype("int64") * 1_000_000, type=pa.timestamp("us", tz="UTC"))


def generate_lake(root: str | Path, shape: LakeShape = LakeShape()) -> dict[str, int]:
    """Write the lake under ``root``; returns rows per table. ``root/images`` holds ``shape.images`` images."""
    root = Path(root)
    rng = np.random.default_rng(shape.seed)
    n, users = shape.photos, shape.user_count
    ids = _ids(rng, n)
    rows: dict[str, int] = {}

    # ---- photos -----------------------------------------------------------------------------------------
    start = datetime(2014, 1, 1, tzinfo=timezone.utc).timestamp()
    submitted = start + rng.uniform(0, 10 * 365 * 86400, n)
    landscape = rng.random(n) < 0.6
    side = rng.choice([3000, 4000, 5472, 6000], n)
    width = np.where(landscape, side, (side * 2 // 3)).astype(np.int32)
    height = np.where(landscape, side * 2 // 3, side).astype(np.int32)
    camera = rng.integers(0, len(vocab.CAMERAS), n)
    has_camera = rng.random(n) < 0.7
    makes = np.array([c[0] for c in vocab.CAMERAS], dtype=object)
    models = np.array([c[1] for c in vocab.CAMERAS], dtype=object)
    brands = np.array([normalise_make(c[0], c[1]) for c in vocab.CAMERAS], dtype=object)
    place = rng.integers(0, len(vocab.PLACES), n)
    located = rng.random(n) < 0.4
    pick = lambda values, index, keep: np.where(keep, np.array(values, dtype=object)[index], None)  # noqa: E731
    views = np.round(rng.lognormal(8, 1.5, n)).astype(np.int64)
    descriptions = rng.integers(0, len(vocab.DESCRIPTIONS), n)
    rows["photos"] = _write(root, "photos", {
        "photo_id": ids,
        "photo_url": np.char.add("https://unsplash.com/photos/", ids.astype(str)),
        "photo_image_url": np.char.add("https://images.unsplash.com/photo-", ids.astype(str)),
        "photo_submitted_at": _timestamps(submitted),
        "photo_featured": rng.random(n) < 0.1,
        "photo_width": width, "photo_height": height, "photo_aspect_ratio": np.round(width / height, 2),
        "photo_description": pick(vocab.DESCRIPTIONS, descriptions, rng.random(n) < 0.6),
        "photographer_username": np.char.add("user", rng.integers(0, max(1, n // 5), n).astype(str)),
        "photographer_first_name": _draw(rng, vocab.FIRST_NAMES, n),
        "photographer_last_name": _draw(rng, vocab.LAST_NAMES, n),
        "exif_camera_make": np.where(has_camera, makes[camera], None),
        "exif_camera_model": np.where(has_camera, models[camera], None),
        "camera_make": np.where(has_camera, brands[camera], None),
        "camera_model": np.where(has_camera, models[camera], None),
        "iso": np.where(has_camera, np.array(vocab.ISOS)[rng.integers(0, len(vocab.ISOS), n)], None),
        "aperture_f": np.where(has_camera, np.array(vocab.APERTURES)[rng.integers(0, len(vocab.APERTURES), n)], None),
        "photo_location_name": pick([p[0] for p in vocab.PLACES], place, located),
        "photo_location_city": pick([p[1] for p in vocab.PLACES], place, located),
        "photo_location_country": pick([p[2] for p in vocab.PLACES], place, located),
        "photo_location_latitude": np.where(located, np.array([p[3] for p in vocab.PLACES])[place], None),
        "photo_location_longitude": np.where(located, np.array([p[4] for p in vocab.PLACES])[place], None),
        "stats_views": views,
        "stats_downloads": np.round(views * rng.uniform(0.002, 0.03, n)).astype(np.int64),
        "ai_description": _draw(rng, vocab.AI_DESCRIPTIONS, n),
    })

    # ---- keywords, collections ------------------------------------------------------------------------------
    words, weights = vocab.keyword_vocabulary(3000)
    words = np.array(words, dtype=object)
    per_photo = rng.integers(max(1, shape.keywords_per_photo // 2), shape.keywords_per_photo * 3 // 2 + 1, n)
    keyword_photo = np.repeat(np.arange(n), per_photo)
    keyword = rng.choice(len(words), len(keyword_photo), p=weights)
    unique = np.unique(keyword_photo.astype(np.int64) * len(words) + keyword)  # a keyword once per photo
    keyword_photo, keyword = unique // len(words), unique % len(words)
    rows["keywords"] = _write(root, "keywords", {
        "photo_id": ids[keyword_photo], "keyword": words[keyword],
        "ai_service_1_confidence": np.round(rng.uniform(20, 100, len(keyword)), 2),
        "suggested_by_user": rng.random(len(keyword)) < 0.2,
    })
    collected = np.flatnonzero(rng.random(n) < 0.5)
    collection = rng.integers(0, len(vocab.COLLECTION_TITLES), len(collected))
    rows["collections"] = _write(root, "collections", {
        "photo_id": ids[collected], "collection_id": collection.astype(str),
        "collection_title": np.array(vocab.COLLECTION_TITLES, dtype=object)[collection],
        "photo_collected_at": _timestamps(submitted[collected] + 86400),
        "collection_type": ["featured"] * len(collected),
    })

    # ---- downloads, image_metadata ----------------------------------------------------------------------------
    ok = rng.random(n) < 0.97
    ok[:shape.images] = True
    paths = np.array([posixpath.join(str(root / "images"), i[:2], f"{i}.jpg") for i in ids], dtype=object)
    longest = rng.choice([480, 1080, 2400], n, p=[0.1, 0.6, 0.3])
    shown_w = np.where(landscape, longest, longest * 2 // 3).astype(np.int32)
    shown_h = np.where(landscape, longest * 2 // 3, longest).astype(np.int32)
    size_class = np.array([size_category(s, s) for s in (480, 1080, 2400)], dtype=object)
    rows["downloads"] = _write(root, "downloads", {
        "photo_id": ids, "url": np.char.add("https://images.unsplash.com/photo-", ids.astype(str)),
        "path": np.where(ok, paths, None), "status": np.where(ok, "ok", "http_error"),
        "http_status": np.where(ok, 200, 404).astype(np.int32), "attempts": np.ones(n, np.int32),
        "width": np.where(ok, shown_w, None), "height": np.where(ok, shown_h, None),
        "downloaded_at": _timestamps(np.full(n, datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp())),
    })
    palette_rgb = np.array(list(vocab.COLOR_NAMES.values()), dtype=np.int64)
    colours = np.where(ok, rng.integers(3, 6, n), 0)
    colour_rgb = np.clip(palette_rgb[rng.integers(0, len(palette_rgb), colours.sum())]
                         + rng.integers(-12, 13, (colours.sum(), 3)), 0, 255)
    names = {tuple(c): (nearest_css_name(np.array(c)), color_family(*c))
             for c in map(tuple, np.unique(colour_rgb, axis=0))}
    shares = rng.dirichlet(np.ones(5), n)
    share = np.concatenate([np.sort(shares[i, :c])[::-1] / shares[i, :c].sum() for i, c in enumerate(colours) if c]) \
        if colours.sum() else np.zeros(0)
    hexes = np.array([f"{r:02X}{g:02X}{b:02X}" for r, g, b in colour_rgb], dtype=object)  # as extract writes it
    with_exif = ok & has_camera & (rng.random(n) < 0.3)
    exif = [({"Make": makes[c], "Model": models[c], "ISOSpeedRatings": str(vocab.ISOS[c % len(vocab.ISOS)])}
             if e else None) for c, e in zip(camera, with_exif)]
    color_type = _arrow_schema("image_metadata").field("dominant_colors").type.value_type
    rows["image_metadata"] = _write(root, "image_metadata", {
        "photo_id": ids, "path": np.where(ok, paths, None), "status": np.where(ok, "ok", "missing"),
        "error": np.where(ok, None, "no downloaded file"),
        "width": np.where(ok, shown_w, None), "height": np.where(ok, shown_h, None),
        "display_width": np.where(ok, shown_w, None), "display_height": np.where(ok, shown_h, None),
        "format": np.where(ok, "JPEG", None), "mode": np.where(ok, "RGB", None),
        "file_size": np.where(ok, rng.integers(80_000, 400_000, n), None),
        "orientation_class": np.where(ok, np.where(landscape, "landscape", "portrait"), None),
        "size_category": np.where(ok, size_class[np.searchsorted([480, 1080, 2400], longest)], None),
        "exif": pa.array(exif, type=pa.map_(pa.string(), pa.string())),
        "make": np.where(with_exif, makes[camera], None), "model": np.where(with_exif, models[camera], None),
        "camera_make": np.where(with_exif, brands[camera], None),
        "iso": np.where(with_exif, np.array(vocab.ISOS)[camera % len(vocab.ISOS)], None),
        "dominant_colors": _structs({
            "hex": hexes, "r": colour_rgb[:, 0], "g": colour_rgb[:, 1], "b": colour_rgb[:, 2],
            "name": np.array([names[tuple(c)][0] for c in colour_rgb], dtype=object),
            "family": np.array([names[tuple(c)][1] for c in colour_rgb], dtype=object), "share": np.round(share, 3),
        }, _offsets(colours), color_type),
        "brightness": np.where(ok, np.round(rng.uniform(0.1, 0.9, n), 3), None),
        "colorfulness": np.where(ok, np.round(rng.uniform(0, 0.8, n), 3), None),
        "phash": np.where(ok, np.array([f"{v:016x}" for v in rng.integers(0, 2**63, n, dtype=np.int64)]), None),
    })

    # ---- detections ------------------------------------------------------------------------------------------
    object_weights = 1.0 / np.arange(1, len(OBJECTS) + 1)
    found = np.where(ok, rng.poisson(shape.objects_per_photo, n), 0)
    label = rng.choice(len(OBJECTS), found.sum(), p=object_weights / object_weights.sum())
    box_w, box_h = rng.uniform(0.1, 0.5, (2, found.sum()))
    object_type = _arrow_schema("detections").field("objects").type.value_type
    offsets = _offsets(found)
    rows["detections"] = _write(root, "detections", {
        "photo_id": ids, "path": np.where(ok, paths, None), "status": np.where(ok, "ok", "missing"),
        "image_width": np.where(ok, shown_w, None), "image_height": np.where(ok, shown_h, None),
        "objects": _structs({
            "label": np.array(OBJECTS, dtype=object)[label], "class_id": label,
            "confidence": np.round(rng.uniform(0.25, 0.99, found.sum()), 3),
            "x": np.round(rng.uniform(0, 1 - box_w) * np.repeat(shown_w, found), 1),
            "y": np.round(rng.uniform(0, 1 - box_h) * np.repeat(shown_h, found), 1),
            "w": np.round(box_w * np.repeat(shown_w, found), 1), "h": np.round(box_h * np.repeat(shown_h, found), 1),
        }, offsets, object_type),
        "labels": pa.ListArray.from_arrays(pa.array(offsets), pa.array(np.array(OBJECTS, dtype=object)[label])),
        "model": np.full(n, DETECTOR, dtype=object),
    }, partition="model")

    # ---- clusters ------------------------------------------------------------------------------------------------
    cluster = rng.integers(0, shape.clusters, n).astype(np.int32)
    centres = rng.normal(0, 3, (shape.clusters, 2))
    point = centres[cluster] + rng.normal(0, 1, (n, 2))
    rows["clusters"] = _write(root, "clusters", {"photo_id": ids, "cluster": cluster, "pca_x": point[:, 0],
                                                  "pca_y": point[:, 1]})
    sizes = np.bincount(cluster, minlength=shape.clusters)
    rows["cluster_summary"] = _write(root, "cluster_summary", {
        "cluster": np.arange(shape.clusters, dtype=np.int32), "size": sizes.astype(np.int64), "share": sizes / n,
        "top_tags": [list(words[c:c + 3]) for c in range(shape.clusters)],
        "top_objects": [list(OBJECTS[c % 5:c % 5 + 2]) for c in range(shape.clusters)],
        "top_colors": [["blue", "gray"] for _ in range(shape.clusters)],
        "description": [f"group {c}: {words[c]}, {OBJECTS[c % 5]}" for c in range(shape.clusters)],
    })

    # ---- users, interactions, profiles, recommendations --------------------------------------------------------
    user_ids = np.array([f"u{i:07d}" for i in range(users)], dtype=object)
    popularity = views / views.sum()
    seen = rng.integers(1, shape.interactions_per_user * 2, users)
    seen[: max(1, users // 50)] = 1  # a few cold users
    event_user = np.repeat(np.arange(users), seen)
    event_photo = rng.choice(n, len(event_user), p=popularity)
    events = np.array(["view", "like", "download"], dtype=object)[rng.choice(3, len(event_user), p=[0.7, 0.2, 0.1])]
    event_at = start + rng.uniform(9 * 365 * 86400, 10 * 365 * 86400, len(event_user))
    rows["interactions"] = _write(root, "interactions", {
        "user_id": user_ids[event_user], "photo_id": ids[event_photo], "event": events,
        "weight": np.select([events == "view", events == "like"], [1.0, 3.0], 5.0),
        "at": _timestamps(event_at), "source": np.full(len(event_user), "synthetic", dtype=object),
    })
    photos_seen = np.bincount(event_user, minlength=users)
    rows["users"] = _write(root, "users", {
        "user_id": user_ids, "source": np.full(users, "synthetic", dtype=object),
        "activity": seen.astype(float), "interactions": photos_seen.astype(np.int64),
        "photos": photos_seen.astype(np.int64),
        "first_at": _timestamps(np.full(users, start + 9 * 365 * 86400)),
        "last_at": _timestamps(np.full(users, start + 10 * 365 * 86400)),
    })
    rows["profiles"] = _write(root, "profiles", {
        "user_id": user_ids, "source": np.full(users, "synthetic", dtype=object),
        "interactions": photos_seen.astype(np.int64), "photos": photos_seen.astype(np.int64),
        "favourite_colors": [["blue", "green"]] * users,
        "favourite_tags": [list(words[i % 20:i % 20 + 3]) for i in range(users)],
        "favourite_objects": [[OBJECTS[i % 4]] for i in range(users)],
        "orientation": np.full(users, "landscape", dtype=object),
        "top_cluster": (np.arange(users) % shape.clusters).astype(np.int32),
    })
    k = shape.recommendations_per_user
    top_popular = np.argsort(-views)[:k]
    model_rows = []
    for model in RECOMMEND_MODELS:
        picked = top_popular[None, :].repeat(users, 0) if model == "popularity" else rng.choice(n, (users, k))
        reasons = {"als": ("similar_users", "people who liked what you liked saved this"),
                   "popularity": ("popular", "popular: among the most viewed"),
                   "content": ("tag", "tagged nature, like photos you saved"),
                   "hybrid": ("object", "shows a dog, like photos you liked")}
        model_rows.append({
            "user_id": np.repeat(user_ids, k), "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), users),
            "photo_id": ids[picked.ravel()], "score": np.tile(np.linspace(1, 0.5, k), users),
            "reason": np.full(users * k, reasons[model][1], dtype=object),
            "reason_kind": np.full(users * k, reasons[model][0], dtype=object),
            "strategy": np.full(users * k, model, dtype=object), "cold_start": np.zeros(users * k, bool),
            "model": np.full(users * k, model, dtype=object)})
    rows["recommendations"] = _write(root, "recommendations", {
        name: np.concatenate([m[name] for m in model_rows]) for name in model_rows[0]}, partition="model")

    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    rows["_runs"] = _write(root, "_runs", {
        "run_id": ["generated"], "job": ["generate_lake"], "status": ["ok"], "started_at": [now], "finished_at": [now],
        "elapsed_s": [0.0], "config": [json.dumps(asdict(shape))]})
    if shape.images:
        first = _offsets(colours)[:shape.images]
        main_colour = colour_rgb[np.minimum(first, len(colour_rgb) - 1)]
        _paint_images(paths[:shape.images], main_colour, landscape[:shape.images])
    lake_version.mark(str(root), f"generated-{shape.seed}-{n}", at=now + timedelta(seconds=shape.seed))
    return rows


def _paint_images(paths: np.ndarray, colours: np.ndarray, landscape: np.ndarray) -> None:
    """A small JPEG per photo in its main palette colour, with a light disc (pages need something to show)."""
    from PIL import Image, ImageDraw

    for path, colour, wide in zip(paths, colours, landscape):
        size = (480, 320) if wide else (320, 480)
        image = Image.new("RGB", size, tuple(int(v) for v in colour))
        ImageDraw.Draw(image).ellipse((40, 40, 200, 200), fill=(240, 240, 240))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        image.save(path, quality=80)
