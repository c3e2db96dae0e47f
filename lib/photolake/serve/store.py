"""One version of the lake, loaded for the service: DuckDB reads the Parquet once; lookups, search and
similar photos then run on Arrow and numpy, from a folder in the service's cache that a later start on the
same lake version opens in seconds (photolake.serve.snapshot).

Each photo gets an integer key ``pid`` (its rank in photo_id order; ``ids`` maps a photo_id to it with a
binary search) and each user a ``uid``. A photo page's rows of each per-photo table, and a user page's rows,
are written sorted by that key into compressed, memory-mapped files (photolake.serve.rows). Search
runs on numpy arrays (photolake.serve.index) made from ``pix`` (one row per photo with every filter and sort
column) and its side tables (the words of descriptions, keywords, objects, palette colours), which are
dropped once they are arrays; gallery cards (columns of pix, an Arrow table), the photos' palettes and the
cluster map's points are Arrow. No DuckDB is left
once loaded. Tables the lake lacks are read as empty tables in their lake schema, so every query runs on any lake.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import logging
import os
import posixpath
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
from pyspark.sql.pandas.types import to_arrow_schema

from photolake import lake_version, storage
from photolake.errors import PhotolakeError
from photolake.schemas import LAKE_TABLES
from photolake.serve import snapshot
from photolake.serve.colour import srgb_to_lab
from photolake.serve.features import Features, Lists, palette_families
from photolake.serve.index import SearchIndex
from photolake.serve.rows import KeyedRows

log = logging.getLogger("photolake.serve")

REQUIRED = ("photos",)
CARD_COLUMNS = ("pid", "photo_id", "description", "ai_description", "width", "height", "main_hex", "camera_make",
                "country", "city", "submitted_at", "views", "downloads", "has_image", "cluster", "pca_x", "pca_y")
LOADED = ("photos", "keywords", "collections", "colors", "downloads", "image_metadata", "detections", "clusters",
          "cluster_summary", "users", "profiles", "interactions", "recommendations", "rec_metrics")
MAX_USERS = 200  # the users list's longest page
MAP_POINTS = 20_000  # the cluster map's sample, most
LAB_ROWS = 262_144
WORDS = r"[^\pL\pN]+"  # how descriptions and queries split into words (RE2 in DuckDB, the same classes below)
_PY_WORDS = re.compile(r"[\W_]+")


class LakeUnavailable(PhotolakeError):
    """The lake (or a table the service needs) is missing or cannot be read."""


def words(text: str) -> list[str]:
    """A query's words, split and lower-cased as descriptions are at load."""
    return [w for w in _PY_WORDS.split(text.lower()) if w]


def _glob(lake: str, table: str) -> str | None:
    folder = posixpath.join(storage.absolute(lake), table)
    files = [f for f in storage.list_files(folder, recursive=True) if f.endswith(".parquet")] \
        if storage.is_dir(folder) else []
    return posixpath.join(folder, "**", "*.parquet") if files else None


@dataclass
class LoadedLake:
    """A lake version loaded: photo and user keys, their rows, the search index, features for similar photos,
    what the other endpoints answer."""

    path: str
    version: lake_version.LakeVersion
    settled: bool
    ids: np.ndarray  # photo ids in pid order, as bytes
    user_ids: np.ndarray
    features: Features
    index: SearchIndex
    cards: pa.Table  # per pid: what a gallery card shows, whether it has an image, the cluster and map point
    map_points: pa.Table  # the cluster map's sample (photo_id, cluster, x, y) in a fixed random order
    photo_rows: dict[str, KeyedRows]  # per pid: a photo page's rows of each table in PHOTO_ROWS
    palettes: pa.StructArray  # image_metadata's dominant_colors one after another, photo by photo
    palette_starts: np.ndarray  # per pid, where its palette begins in palettes (and their count last)
    user_rows: dict[str, KeyedRows]  # per uid: users, profiles, interactions, recommendations
    top_users: list[dict]  # the most active users first
    cluster_summaries: dict[int, dict]
    tables: dict[str, int]
    missing: list[str]
    detect_model: str | None
    stats: dict
    popular: list[int]
    images_root: str | None
    loaded_at: float = field(default_factory=time.time)
    load_seconds: float = 0.0
    from_cache: bool = False  # opened from the cache's folder of this version, not loaded from the lake
    all_facets: dict = field(default_factory=dict)  # the unfiltered search's total and facets, counted once
    saving: Future | None = None  # served as loaded while it is saved: the saved version to swap in (store.load)

    @property
    def tag(self) -> str:
        return self.version.tag

    def pid(self, photo_id: str) -> int | None:
        key = photo_id.encode("utf-8", "replace")
        at = int(np.searchsorted(self.ids, key))
        return at if at < len(self.ids) and self.ids[at] == key else None

    def photo_id(self, pid: int) -> str:
        return self.ids[pid].decode()

    def position(self, photo_id: str) -> int:
        """Where a photo is, or would be, in pid order (for cursors across versions)."""
        return int(np.searchsorted(self.ids, photo_id.encode("utf-8", "replace")))

    def uid(self, user_id: str) -> int | None:
        at = int(np.searchsorted(self.user_ids, user_id))
        return at if at < len(self.user_ids) and self.user_ids[at] == user_id else None

    def image_metadata(self, pid: int) -> dict | None:
        """A photo's image_metadata row, its palette (dominant_colors) as the lake has it."""
        row = self.photo_rows["image_metadata"].first(pid)
        if row is not None and row["dominant_colors"] is not None:
            start = int(self.palette_starts[pid])
            row["dominant_colors"] = self.palettes.slice(start, int(self.palette_starts[pid + 1]) - start).to_pylist()
        return row

    def detections(self, pid: int) -> list[dict]:
        """A photo's detections, of the model served first, then by model."""
        return sorted(self.photo_rows["detections"].of(pid), key=lambda row: (
            row["model"] != self.detect_model, row["model"] is None, row["model"] or ""))

    def points(self, most: int, cluster: int | None = None) -> list[dict]:
        """The first ``most`` map points, of one cluster or of all."""
        table = self.map_points
        if cluster is not None:
            table = table.filter(pa.compute.equal(table["cluster"], cluster)).drop_columns(["cluster"])
        return table.slice(0, most).to_pylist()


def _source(lake: str, table: str) -> tuple[str, bool]:
    """(what to select from, whether the lake has it): the table's Parquet with hive partitions as columns, or
    an empty table in its lake schema (_register_empty), so every query runs on a lake without it."""
    glob = _glob(lake, table)
    if glob is not None:
        quoted = glob.replace("'", "''")
        return f"read_parquet('{quoted}', hive_partitioning = true, union_by_name = true)", True
    return f"empty_{table}", False


def _register_empty(con: duckdb.DuckDBPyConnection, present: dict[str, bool]) -> None:
    for table, has in present.items():
        if not has:
            con.register(f"empty_{table}", to_arrow_schema(LAKE_TABLES[table], timezone="UTC").empty_table())


def _parquet_rows(lake: str, table: str) -> int:
    glob = _glob(lake, table)
    if glob is None:
        return 0
    return storage.parquet_dataset(posixpath.dirname(posixpath.dirname(glob))).count_rows()


def _choose_detector(con: duckdb.DuckDBPyConnection, detections: str, wanted: str) -> str | None:
    models = dict(con.execute(f"SELECT model, count(*) FROM {detections} WHERE status = 'ok' GROUP BY model")
                  .fetchall())
    if wanted:
        return wanted if wanted in models else None
    return max(models, key=lambda m: (models[m], m)) if models else None


def load(lake: str, cache_dir: str, images_root: str | None = None, detect_model: str = "", threads: int = 0,
         memory_mb: int = 1024, save_aside: bool = False) -> LoadedLake:
    """Load the lake as it is now, or open what an earlier load of the same lake files left under
    ``cache_dir`` (photolake.serve.snapshot). Raises LakeUnavailable when the lake or its photos table is
    missing or damaged. Past ``memory_mb`` DuckDB spills its sorts under ``cache_dir`` too.

    A version loaded here is saved in the cache before it is returned, and returned as the saved files mapped;
    with ``save_aside``, it is returned as soon as it is loaded and saved on a thread, its ``saving`` the future
    of the saved version (None when it could not be saved: logged), which a service then swaps in (at 1M photos
    the save is 1.1-1.3 s of the first start)."""
    started = time.time()
    if storage.has_scheme(lake) and not lake.startswith("file:"):
        raise LakeUnavailable(f"the service reads a lake on a local or mounted filesystem, not {lake}: mount the "
                              f"bucket (s3fs, gcsfuse, blobfuse) or copy the lake, and pass that folder")
    lake = storage.absolute(lake).removeprefix("file://")
    if not storage.is_dir(lake):
        raise LakeUnavailable(f"no lake at {lake}: run the pipeline first (make demo, or ./spark-submit.sh pipeline)")
    for table in REQUIRED:
        if _glob(lake, table) is None:
            raise LakeUnavailable(f"the lake at {lake} has no {table} table: run ingest (or the pipeline) first")
    version, settled = lake_version.current(lake)
    folder = snapshot.folder_for(cache_dir, version.files, detect_model)
    spill_dir = os.path.join(cache_dir, "duckdb")
    for made in (os.path.dirname(folder), spill_dir):
        try:
            os.makedirs(made, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise LakeUnavailable(f"the cache folder {made} cannot be made: {exc.strerror}") from None

    def served(state: LoadedLake, built: bool) -> LoadedLake:
        # a copy of the same files elsewhere is the same version: only where it is and how it is served differ
        return dataclasses.replace(state, path=lake, version=version, settled=settled, images_root=images_root and
                                   os.path.realpath(images_root), loaded_at=time.time(),
                                   load_seconds=time.time() - started, from_cache=not built)

    try:
        with contextlib.ExitStack() as held:
            held.enter_context(snapshot.locked(folder))
            saved = snapshot.open_saved(folder)
            built = saved is None
            if built:
                loaded = _build(lake, version, settled, detect_model, folder, spill_dir, threads, memory_mb)
                about = {"lake": lake, "photos": len(loaded.ids), "run_id": version.run_id}
                if save_aside:
                    loaded = served(loaded, built=True)
                    saving: Future = Future()
                    # the thread holds the folder's lock until the save ends: another service waits, then opens it
                    threading.Thread(target=_save_aside, args=(held.pop_all(), loaded, folder, about, saving),
                                     name="lake-save", daemon=False).start()
                    return dataclasses.replace(loaded, saving=saving)
                snapshot.save(loaded, folder, about)
                del loaded  # its arrays: the saved file's pages serve them now
                release_freed_memory()
                saved = snapshot.open_saved(folder)
        snapshot.prune(folder, lake)
    except OSError as exc:  # the cache folder full or read-only
        raise LakeUnavailable(f"the lake at {lake} cannot be loaded into {cache_dir}: {exc}") from None
    return served(saved, built)


def _save_aside(held: contextlib.ExitStack, loaded: LoadedLake, folder: str, about: dict, saving: Future) -> None:
    """Save a version served as loaded, and give the future the saved one (None when it could not be saved)."""
    saved = None
    try:
        with held:
            snapshot.save(loaded, folder, about)
            saved = dataclasses.replace(snapshot.open_saved(folder), path=loaded.path, version=loaded.version,
                                        settled=loaded.settled, images_root=loaded.images_root,
                                        loaded_at=loaded.loaded_at, load_seconds=loaded.load_seconds)
        snapshot.prune(folder, about["lake"])
    except Exception as exc:  # noqa: BLE001 - the loaded version is served all the same
        log.warning("the lake version could not be saved in the cache (the next start loads it again): %s", exc)
    del loaded  # the last reference, once a service has swapped in the saved one or let this one go
    release_freed_memory()
    saving.set_result(saved)


def release_freed_memory() -> None:
    """Hand freed memory back to the OS (glibc keeps it otherwise, counted as in use): the loading's
    temporaries, or a version served as loaded once its saved files replace it."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _build(lake, version, settled, detect_model, folder, spill_dir, threads, memory_mb) -> LoadedLake:
    """Load the lake with DuckDB, its row files into ``folder``."""
    snapshot.fresh(folder)
    # two databases: the search tables in one, and the row files written from the other on a thread at the
    # same time (a checkpoint must have no other transaction in its database), with a quarter of the memory:
    # its sorts spill sooner, and the load's peak stays lower (at 1M photos 1.89 GB, against 2.23 with as much)
    con, rows_con = _connect(threads, memory_mb, spill_dir), _connect(threads, max(64, memory_mb // 4), spill_dir)
    try:
        loaded = _load_into(con, rows_con, lake, version, settled, detect_model, folder)
    except duckdb.Error as exc:
        raise LakeUnavailable(f"the lake at {lake} cannot be read: {str(exc).splitlines()[0][:300]}") from None
    finally:
        con.close()
        rows_con.close()
    release_freed_memory()
    return loaded


# Per photo: the columns a photo page shows (photo_id comes from the key) and their rows' order within a photo
# (None: one row per photo, written in the order it is read; KeyedRows.write, in_key_order).
PHOTO_ROWS = {
    "photos": ("t.* EXCLUDE (photo_id)", None),
    # the palette as its length (null: none): its colours are in LoadedLake.palettes
    "image_metadata": ("t.* EXCLUDE (photo_id) REPLACE (len(t.dominant_colors) AS dominant_colors)", None),
    "downloads": ("t.* EXCLUDE (photo_id)", None),
    # a photo's detections in the order read, put in order per request (LoadedLake.detections): a sort of the
    # table cost 1.1 of its 2.9 CPU-seconds at 1M photos
    "detections": ("t.model, t.status, t.error, t.image_width, t.image_height, t.objects, t.labels", None),
    "collections": ("t.collection_id, t.collection_title, t.photo_collected_at", ", t.photo_collected_at"),
    "colors": ("t.hex, t.keyword, t.coverage, t.score", ", t.coverage DESC NULLS LAST"),
}


DERIVED_FROM = ("photos", "image_metadata", "detections", "downloads", "clusters")


def _user_rows(con: duckdb.DuckDBPyConnection, sources: dict, folder: str, users: int) -> dict[str, KeyedRows]:
    """Per user: the user, the profile, the history (newest first; photos in the lake only) and the
    recommendations (by model and rank), each row with its photo's pid (-1: not in the lake)."""
    keyed = "JOIN user_keys k USING (user_id)"
    queries = {  # (the rows, their order; None: one row per user, in the order read: KeyedRows.write, in_key_order)
        "users": (f"SELECT k.uid, t.* FROM {sources['users']} t {keyed}", None),
        "profiles": (f"SELECT k.uid, t.* FROM {sources['profiles']} t {keyed}", None),
        "interactions": (f"SELECT k.uid, p.pid, t.event, t.weight, t.\"at\", t.keyword FROM {sources['interactions']} "
                         f"t {keyed} JOIN photo_keys p USING (photo_id)", "k.uid, t.\"at\" DESC NULLS LAST, p.pid"),
        "recommendations": (f"SELECT k.uid, coalesce(p.pid, -1) AS pid, t.model, t.rank, t.photo_id, t.score, "
                            f"t.reason, t.strategy, t.cold_start FROM {sources['recommendations']} t {keyed} "
                            f"LEFT JOIN photo_keys p USING (photo_id)", "k.uid, t.model, t.rank"),
    }
    return {name: KeyedRows.write(con.sql(sql if order is None else f"{sql} ORDER BY {order}"), "uid", users,
                                  os.path.join(folder, f"user-{name}.rows"), in_key_order=order is not None)
            for name, (sql, order) in queries.items()}


def _connect(threads: int, memory_mb: int, spill_dir: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={"threads": threads or os.cpu_count() or 1,
                                             "memory_limit": f"{memory_mb}MB", "temp_directory": spill_dir})
    con.execute("SET enable_progress_bar = false")  # DuckDB draws one on a terminal for a 1M-photo load's queries
    return con


def _load_into(con, rows_con, lake, version, settled, detect_model, folder) -> LoadedLake:
    # In-memory tables compress (dictionaries, bit-packing, FSST) when checkpointed: 5-10x smaller.
    con.execute("ATTACH ':memory:' AS lake (COMPRESS)")
    con.execute("USE lake")
    found = {table: _source(lake, table) for table in LOADED}
    sources = {table: source for table, (source, _) in found.items()}
    present = {table: has for table, (_, has) in found.items()}
    _register_empty(con, present)
    con.execute("CREATE TABLE photo_keys AS SELECT (row_number() OVER (ORDER BY photo_id) - 1)::INTEGER AS pid, "
                f"photo_id FROM (SELECT DISTINCT photo_id FROM {sources['photos']}) ORDER BY pid")
    # as bytes: a quarter of numpy's unicode (photo ids are ASCII), 11 MB at 1M photos
    ids = con.execute("SELECT photo_id FROM photo_keys ORDER BY pid").fetchnumpy()["photo_id"].astype(bytes)
    detector = _choose_detector(con, sources["detections"], detect_model)
    con.execute("CREATE TABLE user_keys AS SELECT (row_number() OVER (ORDER BY user_id) - 1)::INTEGER AS uid, "
                f"user_id FROM (SELECT DISTINCT user_id FROM {sources['users']}) ORDER BY uid")
    user_ids = con.execute("SELECT user_id FROM user_keys ORDER BY uid").fetchnumpy()["user_id"].astype(str)
    _register_empty(rows_con, present)
    for keys in ("photo_keys", "user_keys"):
        rows_con.register(keys, con.table(keys).to_arrow_table())
    pix, palettes, palette_starts = _search_tables(con, sources, detector)
    # The row files from then on, from the second database on a thread, beside the arrays made from the search
    # tables (mostly one core's work). At 1M photos, in process: 24.0 s against 27.0 one after the other;
    # side by side with the making of the search tables (DuckDB on every core in both) it took 25.4. Once the
    # palettes were no longer in image_metadata's rows, the users' row files moved here too: the arrays took
    # 8.8 s, the photos' row files 7.9.
    with ThreadPoolExecutor(1, thread_name_prefix="row-files") as pool:
        writing = pool.submit(_row_files, rows_con, sources, len(ids), len(user_ids), folder)
        try:
            search_side = _search_side(con, pix, lake, sources, present, ids)
        except BaseException:
            rows_con.interrupt()  # not the rest of its files for a load that failed
            raise
        photo_rows, user_rows = writing.result()
    rows_con.close()  # its memory back before the arrays are saved
    loaded = LoadedLake(path=lake, version=version, settled=settled, ids=ids, user_ids=user_ids,
                        photo_rows=photo_rows, user_rows=user_rows, palettes=palettes, palette_starts=palette_starts,
                        detect_model=detector, images_root=None,
                        **search_side)
    total, all_facets = loaded.index.facets(None)
    loaded.all_facets = {"total": total, "facets": all_facets}
    return loaded


def _row_files(con, sources, photos, users, folder) -> tuple[dict[str, KeyedRows], dict[str, KeyedRows]]:
    return _photo_rows(con, sources, photos, folder), _user_rows(con, sources, folder, users)


def _photo_rows(con, sources, photos, folder) -> dict[str, KeyedRows]:
    """The per-photo rows (photolake.serve.rows)."""
    photo_rows = {}
    for table, (columns, order) in PHOTO_ROWS.items():
        sql = f"SELECT k.pid, {columns} FROM {sources[table]} t JOIN photo_keys k USING (photo_id)"
        if order is not None:
            sql += f" ORDER BY k.pid{order}"
        photo_rows[table] = KeyedRows.write(con.sql(sql), "pid", photos, os.path.join(folder, f"photo-{table}.rows"),
                                            in_key_order=order is not None)
    return photo_rows


def _search_tables(con, sources, detector) -> tuple[pa.Table, pa.StructArray, np.ndarray]:
    for table in DERIVED_FROM:  # the search tables are made from these
        con.execute(f"CREATE TEMP VIEW {table} AS SELECT k.pid, t.* FROM {sources[table]} t JOIN photo_keys k "
                    f"USING (photo_id)")
    con.execute(f"CREATE TABLE cluster_summary AS SELECT * FROM {sources['cluster_summary']}")
    return _derive(con, sources["keywords"], detector)


def _search_side(con, pix, lake, sources, present, ids) -> dict:
    """The rest of a LoadedLake from the search tables: the search index, similar photos' features, cards,
    stats, counts."""
    top_users = _rows(con, f"SELECT user_id, source, interactions, photos FROM {sources['users']} "
                           f"ORDER BY interactions DESC, user_id LIMIT {MAX_USERS}")
    # compresses the rest of the search tables (kw and terms were as they were made: one checkpoint of them all
    # took longer at 1M photos); without any the load's peak was 2.0 GB, not 1.6
    con.execute("CHECKPOINT")
    stats = _stats(con, sources)
    tags = Lists.build(con, "SELECT kid AS term, pid FROM kw ORDER BY kid, pid",
                       "SELECT keyword AS name FROM kw_names ORDER BY kid", len(ids), idf=True)
    objects = Lists.build(con, "SELECT lid AS term, pid FROM objs ORDER BY lid, pid",
                          "SELECT label AS name FROM obj_names ORDER BY lid", len(ids), idf=False)
    palette = palette_families(con)
    features = Features.build(con, len(ids), tags, objects, palette)
    index = SearchIndex.build(con, len(ids), tags, objects, palette)
    cards = _cards(pix)
    map_points = con.sql("SELECT photo_id, cluster, pca_x AS x, pca_y AS y FROM map_points ORDER BY sample_rank"
                         ).to_arrow_table().combine_chunks()
    popular = [pid for (pid,) in con.execute("SELECT pid FROM pix ORDER BY downloads DESC, views DESC, pid LIMIT 1000")
               .fetchall()]
    tables = {table: _parquet_rows(lake, table) for table in LAKE_TABLES}
    tables = {table: rows for table, rows in tables.items() if rows}
    if present["keywords"]:
        tables["keywords"] = len(tags.by_photo)  # distinct (photo, keyword) pairs, as search counts them
    return dict(
        features=features, index=index, cards=cards, map_points=map_points, top_users=top_users, tables=tables,
        missing=[t for t in LOADED if not present[t]],
        cluster_summaries={row["cluster"]: row for row in _rows(con, "SELECT * FROM cluster_summary ORDER BY cluster")},
        stats=stats, popular=popular)


def _cards(pix: pa.Table) -> pa.Table:
    """What a gallery card shows, per pid: pix's columns (the same buffers), with no views or downloads as 0."""
    cards = pix.select(CARD_COLUMNS)
    for name in ("views", "downloads"):  # -1 in pix, where they are sort keys
        cards = cards.set_column(cards.schema.get_field_index(name), name,
                                 pa.compute.max_element_wise(cards[name], 0))
    return cards.cast(without_time_zones(cards.schema))


def without_time_zones(schema: pa.Schema) -> pa.Schema:
    """``schema`` with its time-zoned timestamp columns as plain ones, which hold the same UTC instants: Arrow
    makes a zoned datetime per value through zoneinfo, at 6 us each (a page of 48 cards: 0.27 ms against 0.10),
    and the answers print plain ones as UTC (photolake.serve.app._json)."""
    for i, column in enumerate(schema):
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            schema = schema.set(i, column.with_type(pa.timestamp(column.type.unit)))
    return schema


def _derive(con: duckdb.DuckDBPyConnection, keywords: str, detector: str | None
            ) -> tuple[pa.Table, pa.StructArray, np.ndarray]:
    """The search tables: pix, one row per photo with its filter and sort columns and what its card shows (an
    Arrow table in pid order), and the side tables; returns pix, and the palettes with where each photo's
    begins (LoadedLake.palettes)."""
    # pix as Arrow, never copied into DuckDB's storage: its compression there took 1.7 s at 1M photos, and the
    # cards are its columns; the side tables sorted, which their checkpoint and reads took 2 s longer without
    pix = con.sql("""
        SELECT p.pid, p.photo_id, p.photo_submitted_at AS submitted_at,
               coalesce(epoch_us(p.photo_submitted_at), -1) AS newest_key,
               coalesce(p.stats_views, -1) AS views, coalesce(p.stats_downloads, -1) AS downloads,
               p.camera_make, p.camera_model, m.orientation_class AS orientation, m.size_category AS size,
               p.photo_location_country AS country, p.photo_location_city AS city,
               p.photo_location_latitude IS NOT NULL AND p.photo_location_longitude IS NOT NULL AS has_location,
               c.cluster, c.pca_x, c.pca_y, p.photo_description AS description, p.ai_description,
               p.photo_width AS width, p.photo_height AS height,
               coalesce(d.status = 'ok' AND d.path IS NOT NULL, false) AS has_image,
               m.dominant_colors[1].hex AS main_hex, m.phash
        FROM photos p
        LEFT JOIN image_metadata m USING (pid) LEFT JOIN clusters c USING (pid) LEFT JOIN downloads d USING (pid)
        ORDER BY p.pid""").to_arrow_table().combine_chunks()
    con.register("pix", pix)
    # keywords: each distinct one once (kw_names), and which photos have it (kw, sorted by keyword); the pairs
    # made distinct as numbers, not as (text, pid) (at 1M photos 1.5 s against 2.0)
    con.execute(f"""
        CREATE TABLE kw_names AS SELECT (row_number() OVER (ORDER BY keyword) - 1)::INTEGER AS kid, keyword FROM (
          SELECT DISTINCT lower(trim(keyword)) AS keyword FROM {keywords}
          WHERE keyword IS NOT NULL AND trim(keyword) <> '') ORDER BY kid""")
    con.execute(f"""
        CREATE TABLE kw AS SELECT DISTINCT n.kid, k.pid FROM {keywords} t JOIN photo_keys k USING (photo_id)
        JOIN kw_names n ON n.keyword = lower(trim(t.keyword)) ORDER BY n.kid, k.pid""")
    con.execute("CHECKPOINT")
    # words: of descriptions per photo (terms), of keywords per keyword (kw_words); how many photos have each
    con.execute(f"""
        CREATE TEMP TABLE term_pairs AS SELECT term, pid, weight FROM (
          SELECT unnest(regexp_split_to_array(lower(description), '{WORDS}')) AS term, pid, 2.0::FLOAT AS weight
          FROM pix WHERE description IS NOT NULL
          UNION ALL SELECT unnest(regexp_split_to_array(lower(ai_description), '{WORDS}')), pid, 1.0::FLOAT
          FROM pix WHERE ai_description IS NOT NULL)
        WHERE term <> ''""")
    con.execute("CREATE TABLE term_names AS SELECT (row_number() OVER (ORDER BY term) - 1)::INTEGER AS tid, term "
                "FROM (SELECT DISTINCT term FROM term_pairs) ORDER BY tid")
    con.execute("CREATE TABLE terms AS SELECT n.tid, t.pid, t.weight FROM term_pairs t JOIN term_names n USING (term) "
                "ORDER BY n.tid, t.pid")
    con.execute("DROP TABLE term_pairs")
    con.execute("CHECKPOINT")
    con.execute(f"""
        CREATE TABLE kw_words AS SELECT DISTINCT term, kid FROM (
          SELECT unnest(regexp_split_to_array(keyword, '{WORDS}')) AS term, kid FROM kw_names) WHERE term <> ''
        ORDER BY term""")
    # each photo's best score per class, the detections unnested once
    con.execute("""
        CREATE TEMP TABLE obj_pairs AS SELECT pid, o.label, max(o.confidence) AS score FROM (
          SELECT pid, unnest(objects) AS o FROM detections WHERE status = 'ok' AND model = ?)
        WHERE o.label IS NOT NULL GROUP BY ALL""", [detector or ""])
    con.execute("CREATE TABLE obj_names AS SELECT (row_number() OVER (ORDER BY label) - 1)::INTEGER AS lid, label "
                "FROM (SELECT DISTINCT label FROM obj_pairs) ORDER BY lid")
    con.execute("CREATE TABLE objs AS SELECT n.lid, p.pid, p.score FROM obj_pairs p JOIN obj_names n USING (label) "
                "ORDER BY n.lid, p.pid")
    con.execute("DROP TABLE obj_pairs")
    # every palette colour in photo and palette order: the photo pages' palettes, kept as Arrow (their JSON in
    # the row files took 2.4 of image_metadata's 4.7 CPU-seconds at 1M photos); those of images read whole with
    # an RGB are the colours that search and similar photos use (cols)
    entries = con.sql("""
        SELECT pid, ok, c FROM (
          SELECT pid, status = 'ok' AS ok, unnest(dominant_colors) AS c, unnest(range(len(dominant_colors))) AS place
          FROM image_metadata WHERE len(dominant_colors) > 0)
        ORDER BY pid, place""").to_arrow_table()
    palettes = _compact(entries["c"].combine_chunks())
    palette_starts = np.searchsorted(entries["pid"].to_numpy(), np.arange(len(pix) + 1)).astype(np.int64)
    fields = dict(zip((member.name for member in palettes.type), palettes.flatten()))
    cols = pa.table({"pid": entries["pid"], **{name: fields[name] for name in
                                               ("hex", "name", "family", "share", "r", "g", "b")}})
    read_whole = pa.compute.and_(entries["ok"], pa.compute.is_valid(fields["r"]))
    if (pa.compute.sum(read_whole).as_py() or 0) < len(cols):  # (a copy of 3.9M colours: 1 s at 1M photos)
        cols = cols.filter(read_whole)
    del entries, fields, read_whole
    rgb = np.stack([cols[c].to_numpy(zero_copy_only=False) for c in ("r", "g", "b")], axis=1).reshape(-1, 3)
    lab = np.empty(rgb.shape, np.float32)
    for start in range(0, len(rgb), LAB_ROWS):  # in parts: float64 temporaries of 4M colours would be 0.6 GB
        lab[start:start + LAB_ROWS] = srgb_to_lab(rgb[start:start + LAB_ROWS])
    for n, name in enumerate(("l", "a", "b_")):
        cols = cols.append_column(name, pa.array(lab[:, n]))
    con.register("cols", cols)  # read in place: a copy into DuckDB's own table costs 1.6 s at 1M photos
    con.execute(f"""
        CREATE TABLE map_points AS SELECT * FROM (
          SELECT pid, photo_id, cluster, pca_x, pca_y,
                 (row_number() OVER (ORDER BY hash(photo_id)))::INTEGER AS sample_rank
          FROM pix WHERE cluster IS NOT NULL AND pca_x IS NOT NULL)
        WHERE sample_rank <= {MAP_POINTS} ORDER BY sample_rank""")
    return pix, palettes, palette_starts


def _compact(structs: pa.StructArray, coded: tuple[str, ...] = ("name", "family")) -> pa.StructArray:
    """``structs`` with the fields ``coded`` dictionary-encoded, with the narrowest codes that hold their values
    (a palette's colour names and families: at 1M photos 3.9M values of 140 names)."""
    children = []
    for member, values in zip(structs.type, structs.flatten()):
        if member.name in coded:
            encoded = pa.compute.dictionary_encode(values)
            width = next(t for t in (pa.int8(), pa.int16(), pa.int32()) if len(encoded.dictionary) <= 2 ** (
                t.bit_width - 1))
            values = pa.DictionaryArray.from_arrays(encoded.indices.cast(width), encoded.dictionary)
        children.append(values)
    return pa.StructArray.from_arrays(children, names=[member.name for member in structs.type],
                                      mask=structs.is_null())


TOP = 50


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | tuple = ()) -> list[dict]:
    """A query's rows as dicts of column name -> value."""
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _palette_stats(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict]]:
    """Photos per colour family (and the share of an image they add up to) and per colour name (with a hex of
    it), from the palette's rows counted in numpy: at 1M photos, beside the row files, 1.2 s against 1.7 for
    DuckDB's two count(DISTINCT)s and 2.4 for Arrow's group_by. A name's hex is its first row's, not any."""
    cols = con.sql("SELECT pid, family, name, hex, share FROM cols").to_arrow_table()
    if not len(cols):  # a lake with no image metadata, or no palettes in it
        return {"colors": [], "color_names": []}
    pid = cols["pid"].to_numpy().astype(np.int64)

    def grouped(key: str) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
        """The key's values (None last), how many photos have each, each row's value, each value's first row."""
        encoded = pa.compute.dictionary_encode(cols[key]).combine_chunks()
        values = encoded.dictionary.to_pylist() + [None]
        codes = encoded.indices.fill_null(len(values) - 1).to_numpy().astype(np.int64)
        pairs = np.sort(pid * len(values) + codes)  # in pid order already but for a photo's own rows
        pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])]  # each photo once per value (np.unique
        # took 3 s for the 3.9M rows of 1M photos, numpy 2.4)
        first = np.zeros(len(values), dtype=np.int64)
        first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # the last write of each is its first row
        return values, np.bincount(pairs % len(values), minlength=len(values)), codes, first

    def ranked(values, photos, most=None, **extra) -> list[dict]:
        rows = [{"value": value, "photos": int(count), **{name: column[n] for name, column in extra.items()}}
                for n, (value, count) in enumerate(zip(values, photos)) if count]
        rows.sort(key=lambda row: (-row["photos"], row["value"] is None, row["value"] or ""))
        return rows[:most]

    values, photos, codes, _ = grouped("family")
    shares = np.bincount(codes, weights=np.nan_to_num(cols["share"].to_numpy(zero_copy_only=False)),
                         minlength=len(values))
    families = ranked(values, photos, image_equivalents=[round(float(x), 1) for x in shares])
    values, photos, _, first = grouped("name")
    hexes = cols["hex"].take(pa.array(first)).to_pylist()
    return {"colors": families, "color_names": ranked(values, photos, TOP, example_hex=hexes)}


def _stats(con: duckdb.DuckDBPyConnection, sources: dict[str, str]) -> dict:
    """The analytics the service answers without a query: counts per camera, colour, object, country, month..."""
    queries = {
        "cameras": "SELECT camera_make AS value, count(*) AS photos FROM pix WHERE camera_make IS NOT NULL "
                   "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 50",
        "camera_models": "SELECT camera_make || ' ' || camera_model AS value, count(*) AS photos FROM pix "
                         "WHERE camera_model IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 50",
        "objects": "SELECT n.label AS value, count(*) AS photos, round(avg(score), 3) AS mean_confidence FROM objs "
                   "JOIN obj_names n USING (lid) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 50",
        "keywords": "SELECT n.keyword AS value, count(*) AS photos FROM kw JOIN kw_names n USING (kid) "
                    "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 50",
        "countries": "SELECT country AS value, count(*) AS photos FROM pix WHERE country IS NOT NULL "
                     "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 50",
        "months": "SELECT strftime(date_trunc('month', submitted_at), '%Y-%m') AS value, count(*) AS photos, "
                  "sum(greatest(downloads, 0)) AS downloads FROM pix WHERE submitted_at IS NOT NULL "
                  "GROUP BY 1 ORDER BY 1",
        "orientations": "SELECT orientation AS value, count(*) AS photos FROM pix WHERE orientation IS NOT NULL "
                        "GROUP BY 1 ORDER BY 2 DESC",
        "sizes": "SELECT size AS value, count(*) AS photos FROM pix WHERE size IS NOT NULL GROUP BY 1 ORDER BY 2 DESC",
        "downloads": "SELECT status AS value, count(*) AS photos FROM downloads GROUP BY 1 ORDER BY 2 DESC",
        "clusters": "SELECT cluster AS value, count(*) AS photos FROM pix WHERE cluster IS NOT NULL "
                    "GROUP BY 1 ORDER BY 1",
        "recommendations": "SELECT model AS value, count(DISTINCT user_id) AS users, count(*) AS rows "
                           f"FROM {sources['recommendations']} GROUP BY 1 ORDER BY 1",
    }
    out = {name: _rows(con, sql) for name, sql in queries.items()} | _palette_stats(con)
    out["metrics"] = _rows(con, "SELECT model, k, precision_at_k, recall_at_k, ndcg_at_k, map_at_k, coverage, users "
                                f"FROM {sources['rec_metrics']} ORDER BY model, k")
    out["photos"] = con.execute("SELECT count(*) FROM pix").fetchall()[0][0]
    return out
