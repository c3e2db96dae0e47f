"""The service: a JSON API under /api/v1 and a web app over one lake version at a time (photolake.serve.holder).

Read-only, GET only. Every parameter is declared (types, ranges, choices) so FastAPI validates it and the
OpenAPI schema at /docs lists it; a parameter the endpoint does not know is refused too, since a typo would
otherwise silently widen a search. Every answer carries the lake version as its ETag: a client that sends it
back gets 304 until a new pipeline run is served.
"""

import contextlib
import functools
import logging
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import anyio.to_thread
import orjson
from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from photolake.schemas import RECOMMEND_MODELS
from photolake.serve import images, search
from photolake.serve.features import WAYS
from photolake.serve.holder import LakeHolder
from photolake.serve.store import MAX_USERS, LoadedLake

log = logging.getLogger("photolake.serve")
WEB = Path(__file__).parent / "web"
API = "/api/v1"
HISTORY = 50
PAGES = {"/": "index.html", "/photos/{photo_id}": "photo.html", "/map": "map.html", "/users": "user.html",
         "/users/{user_id}": "user.html"}


class Problem(Exception):
    def __init__(self, status: int, message: str, problems: list | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.problems, self.headers = status, message, problems, headers or {}


class NotModified(Exception):
    def __init__(self, etag: str):
        self.etag = etag


def _json(payload, status: int = 200, headers: dict | None = None) -> Response:
    # the lake's timestamps are UTC (every session runs in UTC), whether or not Parquet says so
    return Response(orjson.dumps(payload, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_NAIVE_UTC),
                    status_code=status,
                    media_type="application/json", headers=headers)


def respond(lake: LoadedLake, payload: dict) -> Response:
    return _json(payload, headers={"ETag": f'"{lake.tag}"', "Cache-Control": "no-cache", "X-Lake-Version": lake.tag})


_ALLOWED: dict[int, set[str]] = {}


def _allowed_parameters(request: Request) -> set[str]:
    route = request.scope["route"]
    if id(route) not in _ALLOWED:
        def names(dependant) -> set[str]:
            return {p.alias for p in dependant.query_params}.union(*(names(d) for d in dependant.dependencies))

        _ALLOWED[id(route)] = names(route.dependant)
    return _ALLOWED[id(route)]


def refuse_unknown_parameters(request: Request) -> None:
    """A 422 for query parameters the endpoint does not declare: a typo would otherwise widen a search."""
    allowed = _allowed_parameters(request)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise Problem(422, "invalid parameters", [
            {"parameter": name, "message": f"is not a parameter of this endpoint (it takes: {takes})"}
            for name in unknown])


def create_app(holder: LakeHolder) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        # the requests that run on threads (numpy and Arrow free the GIL in their loops): more threads than about
        # twice the cores only add contention for the GIL (bench/serve.py: 4 beat 2, 8 and 40 on 2 cores)
        anyio.to_thread.current_default_thread_limiter().total_tokens = holder.settings.threads
        yield
        holder.stop()
        # a version served as loaded and still being saved: the save ends first, or the next start loads again
        await anyio.to_thread.run_sync(holder.settle)

    app = FastAPI(title="photolake", version="1", docs_url="/docs", redoc_url=None, lifespan=lifespan,
                  openapi_url=f"{API}/openapi.json",
                  description="Search, browse and recommend over a photolake lake (read-only).")
    app.state.holder = holder
    if holder.settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(holder.settings.cors_origins), allow_methods=["GET"])

    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Problem):
        body = {"error": exc.message}
        if exc.problems:
            body["problems"] = exc.problems
        return _json(body, exc.status, exc.headers)

    @app.exception_handler(search.BadQuery)
    async def bad_query(request: Request, exc: search.BadQuery):
        return _json({"error": "invalid parameters", "problems": [{"parameter": exc.parameter,
                                                                   "message": exc.message}]}, 422)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        problems = [{"parameter": ".".join(str(part) for part in e["loc"][1:]) or e["loc"][0],
                     "message": e["msg"], "value": e.get("input")} for e in exc.errors()]
        return _json({"error": "invalid parameters", "problems": problems}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def no_route(request: Request, exc: StarletteHTTPException):  # an unknown path, a write method
        return _json({"error": f"{exc.detail}: {request.method} {request.url.path}"}, exc.status_code,
                     getattr(exc, "headers", None))

    @app.exception_handler(NotModified)
    async def not_modified(request: Request, exc: NotModified):
        return Response(status_code=304, headers={"ETag": f'"{exc.etag}"', "X-Lake-Version": exc.etag})

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception):
        log.exception("%s %s failed", request.method, request.url.path)
        return _json({"error": "internal error: the service's log has the details"}, 500)

    async def lake_for(request: Request) -> LoadedLake:
        refuse_unknown_parameters(request)
        lake = holder.current
        if lake is None:
            raise Problem(503, f"no lake is being served: {holder.problem}", headers={"Retry-After": "10"})
        if request.headers.get("if-none-match", "").strip('W/" ') == lake.tag:
            raise NotModified(lake.tag)
        return lake

    Lake = Annotated[LoadedLake, Depends(lake_for)]
    PhotoId = Annotated[str, PathParam(max_length=64, description="the photo's id (photo_id)")]

    def in_memory(endpoint):
        """An endpoint that only reads the loaded lake: with one thread a worker (several worker processes), it
        runs on the event loop itself, without the hand-over to the one thread and back (1M photos: a photo
        page's CPU 1.0 -> 0.7-0.9 ms)."""
        if holder.settings.threads != 1:
            return endpoint

        @functools.wraps(endpoint)
        async def on_the_loop(*args, **kwargs):
            return endpoint(*args, **kwargs)

        return on_the_loop

    def pid_of(lake: LoadedLake, photo_id: str) -> int:
        pid = lake.pid(photo_id)
        if pid is None:
            raise Problem(404, f"no photo {photo_id!r} in this lake")
        return pid

    # ---- service ---------------------------------------------------------------------------------------

    @app.get("/healthz", tags=["service"])
    async def healthz():
        return _json({"status": "ok"})

    @app.get("/readyz", tags=["service"])
    async def readyz():
        lake = holder.current
        if lake is None:
            return _json({"status": "unavailable", "reason": holder.problem}, 503)
        body = {"status": "ready", "version": lake.tag, "photos": len(lake.ids)}
        if holder.problem:
            body["warning"] = holder.problem
        return _json(body)

    @app.get(f"{API}/version", tags=["service"])
    @in_memory
    def version(lake: Lake):
        v = lake.version
        return respond(lake, {"version": lake.tag, "run_id": v.run_id, "finished_at": v.finished_at,
                              "settled": lake.settled, "lake": lake.path, "loaded_in_s": round(lake.load_seconds, 2),
                              "from_cache": lake.from_cache,
                              "tables": lake.tables, "missing_tables": lake.missing,
                              "detections_model": lake.detect_model})

    # ---- photos ------------------------------------------------------------------------------------------

    @app.get(f"{API}/photos", tags=["photos"])
    @in_memory
    def photos(
        lake: Lake,
        q: Annotated[str | None, Query(min_length=1, max_length=200, description="words in the description, "
                                       "AI description or keywords (all of them)")] = None,
        keyword: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
        object: Annotated[str | None, Query(min_length=1, max_length=100, description="a detected class")] = None,
        min_score: Annotated[float, Query(ge=0, le=1, description="the object's least confidence")] = 0.0,
        color: Annotated[str | None, Query(min_length=1, max_length=40, description="a colour family (blue), a "
                                           "CSS name (navy) or a hex colour (#1e90ff)")] = None,
        color_distance: Annotated[float, Query(gt=0, le=100, description="CIELAB delta E from a named or hex "
                                               "colour")] = 20.0,
        camera_make: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
        camera_model: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
        orientation: Literal["landscape", "portrait", "square"] | None = None,
        size: Literal["thumbnail", "medium", "large"] | None = None,
        country: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
        city: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
        date_from: Annotated[date | None, Query(description="submitted on or after (YYYY-MM-DD)")] = None,
        date_to: Annotated[date | None, Query(description="submitted on or before (YYYY-MM-DD)")] = None,
        cluster: Annotated[int | None, Query(ge=0, le=100_000)] = None,
        has_location: bool | None = None,
        sort: Annotated[Literal[tuple(search.SORTS)] | None,
                        Query(description="default: relevance with q, else newest")] = None,
        limit: Annotated[int, Query(ge=1, le=search.MAX_LIMIT)] = 48,
        cursor: Annotated[str | None, Query(max_length=400, description="next_cursor of the previous page")] = None,
        facets: Annotated[bool, Query(description="also the total and the facet counts")] = True,
    ):
        filters = search.Filters(q=q, keyword=keyword, object=object, min_score=min_score, color=color,
                                 color_distance=color_distance, camera_make=camera_make, camera_model=camera_model,
                                 orientation=orientation, size=size, country=country, city=city,
                                 date_from=date_from, date_to=date_to, cluster=cluster, has_location=has_location)
        chosen = sort or ("relevance" if q else "newest")
        return respond(lake, search.search(lake, filters, chosen, limit, cursor, facets))

    @app.get(f"{API}/photos/{{photo_id}}", tags=["photos"])
    @in_memory
    def photo(lake: Lake, photo_id: PhotoId):
        pid = pid_of(lake, photo_id)
        rows = lake.photo_rows

        def one(table: str) -> dict | None:
            row = rows[table].first(pid)
            return row and {"photo_id": photo_id, **row}

        metadata = lake.image_metadata(pid)
        metadata = metadata and {"photo_id": photo_id, **metadata}
        card = lake.cards.slice(pid, 1).to_pylist()[0]
        cluster = None if card["cluster"] is None else {
            "cluster": card["cluster"], "pca_x": card["pca_x"], "pca_y": card["pca_y"],
            "summary": lake.cluster_summaries.get(card["cluster"])}
        return respond(lake, {
            "photo_id": photo_id,
            "photo": one("photos"),
            "image": metadata and {k: v for k, v in metadata.items() if k != "exif"},
            "exif": metadata and metadata.get("exif"),
            "colors": metadata and metadata.get("dominant_colors"),
            "dataset_colors": rows["colors"].of(pid),
            "detections": lake.detections(pid),
            "keywords": sorted(lake.features.tags.names[lake.features.tags.of_photo(pid)].tolist()),
            "collections": rows["collections"].of(pid),
            "cluster": cluster,
            "download": one("downloads"),
            "images": search.image_urls(lake, photo_id, card["has_image"]),
        })

    @app.get(f"{API}/photos/{{photo_id}}/similar", tags=["photos"])
    @in_memory
    def similar(lake: Lake, photo_id: PhotoId,
                by: Annotated[Literal[WAYS], Query(description="which features: " + ", ".join(WAYS))] = "mixed",
                k: Annotated[int, Query(ge=1, le=100)] = 12):
        pid = pid_of(lake, photo_id)
        found = lake.features.nearest(pid, by, k)
        by_pid = search.cards(lake, [p for p, _ in found])
        return respond(lake, {"photo_id": photo_id, "by": by, "similar": [
            {"photo": by_pid[p], "score": round(score, 4), "why": lake.features.why(pid, p, by)}
            for p, score in found]})

    @app.get(f"{API}/photos/{{photo_id}}/duplicates", tags=["photos"])
    @in_memory
    def duplicates(lake: Lake, photo_id: PhotoId,
                   max_distance: Annotated[int, Query(ge=0, le=32, description="Hamming distance of the "
                                                      "perceptual hashes, in bits of 64")] = 8,
                   k: Annotated[int, Query(ge=1, le=200)] = 50):
        pid = pid_of(lake, photo_id)
        found = lake.features.duplicates(pid, max_distance, k)
        by_pid = search.cards(lake, [p for p, _ in found])
        return respond(lake, {"photo_id": photo_id, "max_distance": max_distance, "has_hash":
                              bool(lake.features.has_hash[pid]), "duplicates": [
                                  {"photo": by_pid[p], "distance": d} for p, d in found]})

    # ---- users -------------------------------------------------------------------------------------------

    @app.get(f"{API}/users", tags=["users"])
    @in_memory
    def user_list(lake: Lake, limit: Annotated[int, Query(ge=1, le=MAX_USERS)] = 50):
        return respond(lake, {"users": lake.top_users[:limit]})

    @app.get(f"{API}/users/{{user_id}}", tags=["users"])
    @in_memory
    def user(lake: Lake, user_id: Annotated[str, PathParam(max_length=128)],
             limit: Annotated[int, Query(ge=1, le=200, description="history entries")] = HISTORY):
        uid = lake.uid(user_id)
        if uid is None:
            raise Problem(404, f"no user {user_id!r} in this lake")
        history = lake.user_rows["interactions"].of(uid, limit)  # newest first
        by_pid = search.cards(lake, [h["pid"] for h in history])
        return respond(lake, {
            "user": lake.user_rows["users"].first(uid),
            "profile": lake.user_rows["profiles"].first(uid),
            "history": [{"photo": by_pid.get(h.pop("pid")), **h} for h in history],
        })

    @app.get(f"{API}/users/{{user_id}}/recommendations", tags=["users"])
    @in_memory
    def recommendations(lake: Lake, user_id: Annotated[str, PathParam(max_length=128)],
                        model: Annotated[Literal[(*RECOMMEND_MODELS, "all")], Query()] = "all",
                        k: Annotated[int, Query(ge=1, le=100)] = 10):
        uid = lake.uid(user_id)
        rows = [] if uid is None else [r for r in lake.user_rows["recommendations"].of(uid)  # by model and rank
                                       if (model == "all" or r["model"] == model) and r["rank"] <= k]
        if rows:
            by_pid = search.cards(lake, [r["pid"] for r in rows if r["pid"] >= 0])
            for r in rows:
                r["photo"] = by_pid.get(r.pop("pid"))
            return respond(lake, {"user_id": user_id, "known": True, "cold_start": all(r["cold_start"] for r in rows),
                                  "recommendations": rows})
        popular = lake.popular[:k]
        by_pid = search.cards(lake, popular)
        why = "this user has no recommendations in the lake" if uid is not None else "unknown user"
        return respond(lake, {"user_id": user_id, "known": uid is not None, "cold_start": True, "note": why + \
                              ": the most downloaded photos instead", "recommendations": [
                                  {"model": "popularity", "rank": n + 1, "photo_id": by_pid[p]["photo_id"],
                                   "score": None, "reason": "popular: among the most downloaded photos",
                                   "strategy": "popularity", "cold_start": True, "photo": by_pid[p]}
                                  for n, p in enumerate(popular)]})

    # ---- clusters, stats -----------------------------------------------------------------------------------

    @app.get(f"{API}/clusters", tags=["clusters"])
    @in_memory
    def clusters(lake: Lake, points: Annotated[int, Query(ge=0, le=20_000, description="map points")] = 2000):
        return respond(lake, {
            "clusters": list(lake.cluster_summaries.values()),
            "points": lake.points(points)})

    @app.get(f"{API}/clusters/{{cluster}}", tags=["clusters"])
    @in_memory
    def cluster(lake: Lake, cluster: Annotated[int, PathParam(ge=0, le=100_000)],
                limit: Annotated[int, Query(ge=1, le=200, description="member photos")] = 48,
                points: Annotated[int, Query(ge=0, le=20_000)] = 2000):
        summary = lake.cluster_summaries.get(cluster)
        if summary is None:
            raise Problem(404, f"no cluster {cluster} in this lake")
        members = [p for p, _ in lake.index.page(lake.index.cluster == cluster, "downloads", None, None, limit)]
        by_pid = search.cards(lake, members)
        return respond(lake, {"cluster": summary, "photos": [by_pid[p] for p in members],
                              "points": lake.points(points, cluster)})

    @app.get(f"{API}/stats", tags=["stats"])
    @in_memory
    def stats(lake: Lake):
        return respond(lake, lake.stats)

    # ---- images --------------------------------------------------------------------------------------------

    @app.get(f"{API}/images/{{photo_id}}", tags=["images"])
    def image(request: Request, photo_id: PhotoId, size: Literal["thumb", "small", "full"] = "small",
              v: Annotated[str | None, Query(max_length=64, description="the lake version, for caching")] = None):
        lake = holder.current
        if lake is None:
            raise Problem(503, f"no lake is being served: {holder.problem}")
        refuse_unknown_parameters(request)
        pid = pid_of(lake, photo_id)
        download = lake.photo_rows["downloads"].first(pid)
        path = download["path"] if download and download["status"] == "ok" else None
        try:
            real = images.checked_path(path, lake.images_root)
        except images.ImageMissing as exc:
            raise Problem(404, f"{photo_id}: {exc}") from None
        tag = images.etag(real, size)
        headers = {"ETag": f'"{tag}"', "Cache-Control": "public, max-age=31536000, immutable" if v
                   else "public, max-age=3600"}
        if request.headers.get("if-none-match", "").strip('W/" ') == tag:
            return Response(status_code=304, headers=headers)
        if size == "full":
            return FileResponse(real, headers=headers)
        try:
            cached = images.resized(real, size, holder.settings.thumbs_dir, tag)
        except OSError as exc:
            raise Problem(404, f"{photo_id}: the image cannot be read ({type(exc).__name__})") from None
        return FileResponse(cached, media_type="image/jpeg", headers=headers)

    # ---- the web app --------------------------------------------------------------------------------------

    for route, name in PAGES.items():  # each page reads what it shows from the API
        app.add_api_route(route, lambda name=name: HTMLResponse(
            (WEB / name).read_text(encoding="utf-8"), headers={"Cache-Control": "no-cache"}), include_in_schema=False)

    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    return app
