"""The HTML report: Spark SQL over the lake's analytics views into small pandas frames, charts from those,
and one self-explaining ``index.html`` that links them.  A chart whose tables are missing is listed with
the job that makes them instead of failing the report."""

from __future__ import annotations

import html
import io
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from PIL import Image, ImageOps
from pyspark.sql import SparkSession

from photolake import storage
from photolake.report import charts
from photolake.sample.release import PAINTED_NOTE

log = logging.getLogger("photolake.report")
THUMBNAIL = 160


@dataclass
class Chart:
    name: str
    title: str
    caption: str
    png: bytes | None = None
    missing: str | None = None  # why it could not be drawn
    statement: str | None = None  # what the data says when it has one value only (no chart needed)


# Beyond this many dots a scatter is one blot; a view of millions of photos is sampled in Spark first.
SCATTER_POINTS = 20_000


def _scatter_sample(view: str, columns: str) -> str:
    """At most SCATTER_POINTS rows of a per-photo view, the same ones every run (by a hash of the photo id),
    sorted and cut on the executors: the driver holds the sample, never the view."""
    return f"SELECT {columns} FROM {view} ORDER BY xxhash64(photo_id), photo_id LIMIT {SCATTER_POINTS}"


def _frame(spark: SparkSession, sql: str):
    return spark.sql(sql).toPandas()


def _thumbnail(path: str) -> Image.Image | None:
    try:
        with Image.open(io.BytesIO(storage.read_bytes(path))) as image:
            image.draft("RGB", (THUMBNAIL, THUMBNAIL))
            copy = image.convert("RGB")
        side = min(copy.size)  # square crops line up in a grid
        left, top = (copy.width - side) // 2, (copy.height - side) // 2
        return copy.crop((left, top, left + side, top + side)).resize((THUMBNAIL, THUMBNAIL))
    except Exception as exc:  # noqa: BLE001 - a missing or broken file leaves a gap, not a failed report
        log.warning("no thumbnail for %s: %s", path, exc)
        return None


def _shapes(spark):
    orientation = _frame(spark, "SELECT orientation_class, sum(images) AS images FROM image_shapes "
                                "GROUP BY 1 ORDER BY images DESC")
    sizes = _frame(spark, "SELECT size_category, sum(images) AS images FROM image_shapes GROUP BY 1 "
                          "ORDER BY array_position(array('thumbnail', 'medium', 'large'), size_category)")
    formats = _frame(spark, "SELECT format, sum(images) AS images FROM image_shapes GROUP BY 1 ORDER BY images DESC")
    return [
        _or_said(lambda: charts.bars(orientation, "orientation_class", "images", "Images by orientation",
                                     "orientation", "images")),
        _or_said(lambda: charts.bars(sizes, "size_category", "images", "Images by size category (long side)",
                                     "size category", "images")),
        _or_said(lambda: charts.pie(formats, "format", "images", "Image file formats", "images")),
    ]


def _or_said(draw: Callable[[], bytes]) -> bytes | charts.OneValue:
    """One chart of several: drawn, or the sentence that says its one value (the others still drawn)."""
    try:
        return draw()
    except charts.OneValue as one:
        return one


def _exif(spark, measure: str, title: str, xlabel: str):
    frame = _frame(spark,
                   f"SELECT bucket_label, photos FROM exif_histograms WHERE measure = '{measure}' ORDER BY bucket")
    return charts.bars(frame, "bucket_label", "photos", title, xlabel, "photos")


def _palettes(spark):
    rows = spark.sql("SELECT photo_id, dominant_colors FROM image_metadata WHERE status = 'ok' "
                     "AND size(dominant_colors) > 0 ORDER BY photo_id LIMIT 24").collect()
    return charts.palette_strips([(r.photo_id[:14], [c.asDict() for c in r.dominant_colors]) for r in rows],
                                 "Dominant colours of 24 images (k-means)")


def _families(spark):
    frame = _frame(spark, "SELECT family, image_equivalents FROM color_families ORDER BY image_equivalents DESC")
    return charts.bars(frame, "family", "image_equivalents", "Colour families across all images", "colour family",
                       "images' worth of pixels",
                       colours=[charts.FAMILY_COLOURS.get(f, "#999999") for f in frame["family"]])


def _montage(spark):
    rows = []
    clusters = spark.sql("SELECT DISTINCT cluster FROM cluster_members ORDER BY cluster").collect()
    for cluster in [r.cluster for r in clusters]:
        paths = [r.path for r in spark.sql(f"SELECT path FROM cluster_members WHERE cluster = {int(cluster)} "
                                           "ORDER BY photo_id LIMIT 6").collect()]
        rows.append((f"cluster {cluster}", [t for t in map(_thumbnail, paths) if t is not None]))
    return charts.montage(rows, "Six photos from each cluster")


def _models(spark) -> str:
    return ", ".join(r.model for r in spark.sql("SELECT DISTINCT model FROM detections ORDER BY model").collect())


def _objects(spark):
    frame = _frame(spark, "SELECT label, sum(photos) AS photos FROM object_frequencies GROUP BY 1 "
                          "ORDER BY photos DESC, label LIMIT 15")
    return charts.bars(frame, "label", "photos", f"Top detected objects ({_models(spark)})", "photos", "object",
                       horizontal=True)


def _detected(spark):
    row = spark.sql("SELECT photo_id, path, image_width, objects, model FROM detections WHERE status = 'ok' "
                    "ORDER BY size(objects) DESC, photo_id LIMIT 1").first()
    with Image.open(io.BytesIO(storage.read_bytes(row.path))) as image:
        shown = ImageOps.exif_transpose(image.convert("RGB") if image.mode != "RGB" else image)  # boxes' frame
    shown.thumbnail((900, 900))
    return charts.boxes(shown, [o.asDict() for o in row.objects], shown.width / row.image_width,
                        f"What {row.model} found in {row.photo_id} ({len(row.objects)} objects)")


def _camera_years(spark):
    frame = _frame(spark, "SELECT c.camera_make, c.year, c.photos FROM camera_years c JOIN (SELECT camera_make, "
                          "sum(photos) AS total FROM camera_years GROUP BY 1 ORDER BY total DESC, camera_make "
                          "LIMIT 10) t ON c.camera_make = t.camera_make ORDER BY t.total DESC, c.camera_make, c.year")
    return charts.heatmap(frame, "camera_make", "year", "photos", "Photos by camera make and year", "year submitted",
                          "camera make")


def _preferences(spark):
    colours = _frame(spark, "SELECT value AS family, sum(users_first_choice) AS users FROM user_preferences "
                            "WHERE kind = 'color_family' GROUP BY 1 ORDER BY users DESC")
    tags = _frame(spark, "SELECT value AS tag, sum(users) AS users FROM user_preferences WHERE kind = 'tag' "
                         "GROUP BY 1 ORDER BY users DESC, tag LIMIT 15")
    return [charts.bars(colours, "family", "users", "Users' favourite colour family", "colour family", "users",
                        colours=[charts.FAMILY_COLOURS.get(f, "#999999") for f in colours["family"]]),
            charts.bars(tags, "tag", "users", "Tags most often among users' five favourites", "users", "tag",
                        horizontal=True)]


# name, title, caption, the views it needs, how it is drawn (a chart or a list of charts)
PLAN: list[tuple[str, str, str, tuple[str, ...], Callable]] = [
    ("shapes", "Orientation, size and format",
     "How the images are shaped: landscape, portrait or square; how large their long side is; their file format.",
     ("image_shapes",), _shapes),
    ("cameras", "Top camera makes", "The brands photographers used, from the dataset's EXIF, brand names normalised.",
     ("camera_models",),
     lambda s: charts.bars(_frame(s, "SELECT camera_make, sum(photos) AS photos FROM camera_models GROUP BY 1 "
                                     "ORDER BY photos DESC LIMIT 12"),
                           "camera_make", "photos", "Top camera makes", "photos", "camera make", horizontal=True)),
    ("iso", "ISO", "ISO settings, in doublings from 100.", ("exif_histograms",),
     lambda s: _exif(s, "iso", "ISO distribution", "ISO")),
    ("aperture", "Aperture", "Apertures in full f-stops.", ("exif_histograms",),
     lambda s: _exif(s, "aperture", "Aperture distribution", "f-number")),
    ("exposure", "Shutter speed", "Exposure times, in doublings.", ("exif_histograms",),
     lambda s: _exif(s, "exposure", "Exposure time distribution", "exposure time")),
    ("focal_length", "Focal length", "Focal lengths, grouped by the classic prime lengths.", ("exif_histograms",),
     lambda s: _exif(s, "focal_length", "Focal length distribution", "focal length")),
    ("over_time", "Photos over time", "Photos submitted per month, and how many of them were featured.",
     ("photos_per_month",),
     lambda s: charts.line(_frame(s, "SELECT month, photos, featured FROM photos_per_month ORDER BY month"),
                           "month", ["photos", "featured"], "Photos submitted per month", "month", "photos")),
    ("locations", "Where the photos were taken", f"The photos with a location, by longitude and latitude (at most "
     f"{SCATTER_POINTS:,} of them, the same ones every run).", ("photo_locations",),
     lambda s: charts.world_scatter(_frame(s, _scatter_sample("photo_locations", "latitude, longitude")),
                                    "Photo locations")),
    ("palettes", "Colour palettes", "Each strip is one image's dominant colours, as wide as the pixels they cover.",
     ("image_metadata",), _palettes),
    ("colours", "Colour frequencies", "How much of all the pictures each colour family covers.",
     ("color_families",), _families),
    ("tags", "Top tags", "The dataset's keywords that most photos carry.", ("tag_frequencies",),
     lambda s: charts.bars(_frame(s, "SELECT tag, photos FROM tag_frequencies WHERE source = 'keyword' "
                                     "ORDER BY photos DESC, tag LIMIT 15"),
                           "tag", "photos", "Top keywords", "photos", "keyword", horizontal=True)),
    ("camera_years", "Cameras over the years", "How many photos each of the ten most used camera makes took, by "
     "the year they were submitted: which brands rise and fall.", ("camera_years",), _camera_years),
    ("objects", "Top detected objects", "What the detector found in the images, by number of photos.",
     ("object_frequencies",), _objects),
    ("clusters", "Clusters", "Each dot is a photo, placed by the first two principal components of its features "
     f"and coloured by its KMeans cluster (at most {SCATTER_POINTS:,} photos).", ("cluster_members",),
     lambda s: charts.cluster_scatter(_frame(s, _scatter_sample("cluster_members", "cluster, pca_x, pca_y")),
                                      "Photo clusters (PCA projection)")),
    ("montage", "What each cluster looks like", "Six photos of each cluster.", ("cluster_members",), _montage),
    ("detection", "Detected objects in one image", "The image with the most objects found, with its boxes.",
     ("detections",), _detected),
    ("user_activity", "How active users are", "Users by the number of photos they interacted with, in doublings: a few "
     "users do most of the viewing, as on any real site.", ("user_activity",),
     lambda s: charts.bars(_frame(s,
                                  "SELECT concat(photos_from, '+') AS photos, sum(users) AS users FROM user_activity "
                                     "GROUP BY photos_from ORDER BY photos_from"),
                           "photos", "users", "Users by photos interacted with", "photos per user (from)", "users")),
    ("preferences", "What users prefer", "Each user's profile weighs the photos they viewed, liked and downloaded: "
     "their favourite colour family, and the tags most common among their favourites.", ("user_preferences",),
     _preferences),
    ("rec_metrics", "How good the recommendations are", "Each model's precision, recall, NDCG and MAP at k on the "
     "photos held out from each user's latest interactions; popularity is the baseline to beat.",
     ("recommendation_quality",),
     lambda s: charts.grouped_bars(_frame(s, "SELECT model, precision_at_k, recall_at_k, ndcg_at_k, map_at_k FROM "
                                             "recommendation_quality ORDER BY ndcg_at_k DESC"),
                                   "model", ["precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k"],
                                   "Recommendation quality on held-out photos", "model", "metric at k")),
]


def _why_absent(views: list[str]) -> str:
    """Which lake tables a chart lacks, and the step that makes them."""
    from photolake.stages import STAGES
    from photolake.views import ANALYTICS

    tables = sorted({t for v in views for t in ANALYTICS.get(v, ((v,), ""))[0] if t != "photo_tags"} or set(views))
    makers = {table: stage.name for stage in STAGES.values() for table in (*stage.writes, *stage.optional_writes)}
    return "; ".join(f"no {t} table yet" + (f" (the {makers[t]} step makes it, and may have been skipped: see the "
                                              f"pipeline's summary)" if t in makers else "") for t in tables)


def build_charts(spark: SparkSession, present: list[str]) -> list[Chart]:
    made = []
    for name, title, caption, needs, draw in PLAN:
        absent = [v for v in needs if v not in present]
        if absent:
            made.append(Chart(name, title, caption, missing=_why_absent(absent)))
            continue
        try:
            pngs = draw(spark)
        except charts.OneValue as one:
            made.append(Chart(name, title, caption, statement=str(one)))
            continue
        except Exception as exc:  # noqa: BLE001 - one chart's data problem must not cost the whole report
            log.warning("chart %s: %s: %s", name, type(exc).__name__, exc)
            made.append(Chart(name, title, caption, missing=f"{type(exc).__name__}: {exc}"[:200]))
            continue
        for n, png in enumerate(pngs if isinstance(pngs, list) else [pngs]):
            said = str(png) if isinstance(png, charts.OneValue) else None
            made.append(Chart(f"{name}-{n}" if isinstance(pngs, list) else name, title, caption,
                              png=None if said else png, statement=said))
    return made


def render_html(made: list[Chart], facts: dict[str, str], lake: str, banner: str | None = None) -> str:
    cards = []
    for chart in made:
        if chart.png:
            body = f'<img src="charts/{chart.name}.png" alt="{html.escape(chart.title)}">'
        elif chart.statement:
            body = f'<p class="statement">{html.escape(chart.statement[:1].upper() + chart.statement[1:])}.</p>'
        else:
            body = f'<p class="missing">Not drawn: {html.escape(chart.missing or "")}.</p>'
        cards.append(f'<figure><h2>{html.escape(chart.title)}</h2>{body}'
                     f'<figcaption>{html.escape(chart.caption)}</figcaption></figure>')
    facts_html = "".join(f"<div><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>" for k, v in facts.items())
    drawn = sum(1 for c in made if c.png)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>photolake report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; background: #fafafa; color: #222; }}
.facts {{ display: flex; flex-wrap: wrap; gap: 1rem; margin: 1rem 0 2rem; }}
.facts div {{ background: white; border: 1px solid #ddd; border-radius: 6px; padding: .6rem 1rem; }}
.facts b {{ display: block; font-size: 1.4rem; }} .facts span {{ color: #666; font-size: .85rem; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 1.2rem; }}
figure {{ background: white; border: 1px solid #ddd; border-radius: 6px; margin: 0; padding: 1rem; }}
figure h2 {{ font-size: 1.05rem; margin: 0 0 .5rem; }} figure img {{ max-width: 100%; }}
figcaption {{ color: #555; font-size: .9rem; }} .missing {{ color: #a33; }}
.statement {{ font-size: 1.2rem; padding: 1rem 0; }}
.banner {{ background: #fff4d6; border: 1px solid #e0c060; border-radius: 6px; padding: .8rem 1rem; }}
</style></head><body>
<h1>photolake report</h1>
<p>Lake <code>{html.escape(lake)}</code>, {drawn} charts, made {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.</p>
{f'<p class="banner">{html.escape(banner)}</p>' if banner else ''}
<div class="facts">{facts_html}</div>
<div class="grid">{''.join(cards)}</div>
</body></html>
"""


def lake_facts(spark: SparkSession, present: list[str]) -> dict[str, str]:
    """Headline counts: what the lake holds."""
    queries = {"photos": "SELECT count(*) FROM photos",
               "images downloaded": "SELECT count_if(status = 'ok') FROM downloads",
               "images analysed": "SELECT count_if(status = 'ok') FROM image_metadata",
               "objects detected": "SELECT sum(size(objects)) FROM detections",
               "clusters": "SELECT count(*) FROM cluster_summary", "users": "SELECT count(*) FROM users",
               "recommendations": "SELECT count(*) FROM recommendations"}
    tables = {"photos": "photos", "images downloaded": "downloads", "images analysed": "image_metadata",
              "objects detected": "detections", "clusters": "cluster_summary", "users": "users",
              "recommendations": "recommendations"}
    return {label: f"{spark.sql(sql).first()[0] or 0:,}" for label, sql in queries.items() if tables[label] in present}


def sample_banner(spark: SparkSession, present: list[str]) -> str | None:
    """For a lake made from the built-in sample with generated images: what its charts can and cannot say."""
    if "_runs" not in present:
        return None
    latest = spark.sql("SELECT notes FROM _runs WHERE job = 'ingest' ORDER BY finished_at DESC LIMIT 1").first()
    if latest is None or PAINTED_NOTE not in (latest.notes or []):
        return None
    return (f"This lake was made from {PAINTED_NOTE}. Its tables, EXIF, colours and users are realistic; the "
            f"objects a detector finds in such pictures are not meaningful. Ingest the real dataset (README: The "
            f"real dataset) for a report about real photos.")


def write_report(spark: SparkSession, present: list[str], lake: str, out: str) -> list[Chart]:
    """Charts into ``<out>/charts/``, then ``<out>/index.html``; returns the charts (drawn or not)."""
    made = build_charts(spark, present)
    for chart in made:
        if chart.png:
            storage.write_atomic(f"{out.rstrip('/')}/charts/{chart.name}.png", chart.png)
    page = render_html(made, lake_facts(spark, present), lake, sample_banner(spark, present))
    storage.write_atomic(f"{out.rstrip('/')}/index.html", page.encode())
    return made
