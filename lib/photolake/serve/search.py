"""Photo search: filters as masks over the search index (photolake.serve.index), keyset (cursor) pages,
facet counts. Clients never send SQL or column names: each filter is a declared parameter, and the sort
comes from ``SORTS``. A cursor is the last photo's sort key and photo_id, so a page is the same however deep
it is and stays valid across lake versions (the photo_id, not the per-version pid, breaks ties).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import numpy as np

from photolake.extract.colors import COLOR_FAMILIES
from photolake.serve.colour import parse_colour, srgb_to_lab
from photolake.serve.store import LoadedLake, words

# sort name -> the search index's key it sorts by, descending (relevance: the text match's score)
SORTS = {"newest": "newest_key", "most_viewed": "views", "most_downloaded": "downloads", "relevance": None}
MAX_LIMIT = 200



class BadQuery(ValueError):
    """A parameter that is well-typed but cannot be used (its name and why)."""

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter, self.message = parameter, message


@dataclass(frozen=True)
class Filters:
    q: str | None = None
    keyword: str | None = None
    object: str | None = None
    min_score: float = 0.0
    color: str | None = None
    color_distance: float = 20.0
    camera_make: str | None = None
    camera_model: str | None = None
    orientation: str | None = None
    size: str | None = None
    country: str | None = None
    city: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    cluster: int | None = None
    has_location: bool | None = None


def _day_key(day: date) -> int:
    """A day's start as the sort key newest_key holds (microseconds since 1970, UTC)."""
    return int(datetime.combine(day, time(), tzinfo=timezone.utc).timestamp()) * 1_000_000


def matching(lake: LoadedLake, f: Filters) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(mask of the matching photos or None for all, the text relevance or None without q)."""
    index = lake.index
    masks, relevance = [], None
    if f.q is not None:
        terms = sorted(set(words(f.q)))[:10]
        if not terms:
            raise BadQuery("q", "has no words to search for")
        mask, relevance = index.text(terms)
        masks.append(mask)
    if f.keyword is not None:
        masks.append(index.keyword(f.keyword.strip().lower()))
    if f.object is not None:
        masks.append(index.object(f.object.strip().lower(), f.min_score))
    elif f.min_score:
        raise BadQuery("min_score", "needs object= (the score is an object's)")
    if f.color is not None:
        name = f.color.strip().lower()
        if name in COLOR_FAMILIES:
            masks.append(index.colour_family(name))
        else:
            rgb = parse_colour(name)
            if rgb is None:
                raise BadQuery("color", f"{f.color!r} is not a colour family ({', '.join(COLOR_FAMILIES)}), a CSS "
                                        f"colour name or a hex colour (#1e90ff)")
            masks.append(index.colour_near(srgb_to_lab(np.array([rgb]))[0], f.color_distance))
    for column in ("camera_make", "camera_model", "country", "city", "orientation", "size"):
        value = getattr(f, column)
        if value is not None:
            masks.append(index.coded[column].mask(value))
    if f.cluster is not None:
        masks.append(index.cluster == f.cluster)
    if f.has_location is not None:
        masks.append(index.has_location == f.has_location)
    if f.date_from is not None and f.date_to is not None and f.date_to < f.date_from:
        raise BadQuery("date_to", f"{f.date_to} is before date_from {f.date_from}")
    newest = index.keys["newest_key"]
    if f.date_from is not None:
        masks.append(newest >= _day_key(f.date_from))
    if f.date_to is not None:
        masks.append((newest >= 0) & (newest < _day_key(f.date_to + timedelta(days=1))))
    if not masks:
        return None, relevance
    mask = masks[0]
    for more in masks[1:]:
        mask = mask & more
    return mask, relevance


def encode_cursor(sort: str, key, photo_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([sort, key, photo_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[float | int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, key, photo_id = json.loads(raw)
        if made_for != sort or not isinstance(photo_id, str) or not isinstance(key, (int, float)) \
                or isinstance(key, bool) or not math.isfinite(key):
            raise ValueError
    except (ValueError, TypeError):
        raise BadQuery("cursor", "is not a cursor this search returned (it belongs to another sort, or was "
                                 "changed); start again without one") from None
    return key, photo_id


def search(lake: LoadedLake, f: Filters, sort: str, limit: int, cursor: str | None, facets: bool) -> dict:
    mask, relevance = matching(lake, f)
    if sort == "relevance" and relevance is None:
        raise BadQuery("sort", "relevance needs a text query (q=)")
    after = None
    if cursor:
        after_key, after_id = decode_cursor(cursor, sort)
        after = after_key, lake.position(after_id)
    result: dict = {"sort": sort}
    if facets:
        if mask is None:
            result.update(lake.all_facets)
        else:
            total, counts = lake.index.facets(mask)
            result.update(total=total, facets=counts)
    page = lake.index.page(mask, SORTS[sort], relevance, after, limit + 1)
    more = len(page) > limit
    page = page[:limit]
    by_pid = cards(lake, [pid for pid, _ in page])
    result["photos"] = [by_pid[pid] for pid, _ in page]
    result["next_cursor"] = encode_cursor(sort, page[-1][1], lake.photo_id(page[-1][0])) if more else None
    return result


def image_urls(lake: LoadedLake, photo_id: str, has_image: bool) -> dict | None:
    if not has_image:
        return None
    return {size: f"/api/v1/images/{photo_id}?size={size}&v={lake.tag}" for size in ("thumb", "small", "full")}


def card(lake: LoadedLake, row: dict) -> dict:
    """A photo as a gallery shows it."""
    return {
        "photo_id": row["photo_id"], "description": row["description"] or row["ai_description"],
        "width": row["width"], "height": row["height"], "color": row["main_hex"] and f"#{row['main_hex']}",
        "camera_make": row["camera_make"], "country": row["country"], "city": row["city"],
        "submitted_at": row["submitted_at"],
        "views": row["views"], "downloads": row["downloads"], "cluster": row["cluster"],
        "images": image_urls(lake, row["photo_id"], row["has_image"]),
    }


def cards(lake: LoadedLake, pids: list[int]) -> dict[int, dict]:
    """Cards of these photos by pid."""
    if not pids:
        return {}
    return {r["pid"]: card(lake, r) for r in lake.cards.take(pids).to_pylist()}
