"""serve: the API on a generated lake (photolake.sample.lake), every endpoint and filter checked against the lake's
own Parquet read with pandas; bad input, caching, the swap to a new lake version; the real pipeline's lake."""

from __future__ import annotations

import inspect
import shutil
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from photolake import lake_version
from photolake.sample.lake import LakeShape, generate_lake
from photolake.serve import store
from photolake.serve.app import create_app
from photolake.serve.colour import srgb_to_lab
from photolake.serve.holder import LakeHolder, ServiceSettings

SHAPE = LakeShape(photos=400, images=40, seed=3)
API = "/api/v1"


def read(lake, table: str) -> pd.DataFrame:
    return pq.read_table(f"{lake}/{table}").to_pandas()


@pytest.fixture(scope="session")
def generated_lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("served") / "lake"
    generate_lake(root, SHAPE)
    return root


def holder_for(lake, tmp_path, **settings) -> LakeHolder:
    holder = LakeHolder(ServiceSettings(lake=str(lake), images=str(lake / "images"), cache_dir=str(tmp_path / "cache"),
                                        reload_s=0, **settings))
    holder.start()
    holder.settle(60)  # the saved files served, not the version as loaded that they replace
    return holder


@pytest.fixture(scope="module")
def client(generated_lake, tmp_path_factory):
    return TestClient(create_app(holder_for(generated_lake, tmp_path_factory.mktemp("cache"))),
                      raise_server_exceptions=False)


@pytest.fixture(scope="module")
def frames(generated_lake):
    photos = read(generated_lake, "photos").set_index("photo_id", drop=False).rename_axis(None)
    metadata = read(generated_lake, "image_metadata").set_index("photo_id")
    return photos, metadata


def all_pages(client, **params) -> tuple[list[str], dict]:
    """Every photo id of a search, page by page with its cursors; and the first page's answer."""
    ids, cursor, first = [], None, None
    while True:
        answer = client.get(f"{API}/photos", params={**params, "limit": 150, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        first = first or body
        ids += [p["photo_id"] for p in body["photos"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, first


def test_version_names_the_run_and_counts_every_table(client, generated_lake):
    body = client.get(f"{API}/version").json()
    assert body["run_id"] == f"generated-{SHAPE.seed}-{SHAPE.photos}" and body["settled"] is True
    for table in ("photos", "image_metadata", "detections", "recommendations", "interactions", "users"):
        assert body["tables"][table] == pq.read_table(f"{generated_lake}/{table}").num_rows
    assert body["tables"]["keywords"] == len(read(generated_lake, "keywords").drop_duplicates(["photo_id", "keyword"]))
    assert body["missing_tables"] == ["colors", "rec_metrics"] and body["detections_model"] == "yolov3"


def test_pages_cover_every_photo_once_newest_first(client, frames):
    photos, _ = frames
    ids, first = all_pages(client)
    expected = photos.sort_values(["photo_submitted_at", "photo_id"], ascending=False)["photo_id"].tolist()
    assert ids == expected and first["total"] == SHAPE.photos and first["sort"] == "newest"


@pytest.mark.parametrize("sort,column", [("most_viewed", "stats_views"), ("most_downloaded", "stats_downloads")])
def test_the_other_sorts(client, frames, sort, column):
    photos, _ = frames
    ids, _ = all_pages(client, sort=sort)
    assert ids == photos.sort_values([column, "photo_id"], ascending=False)["photo_id"].tolist()


def expected_ids(client, frames, generated_lake, name: str) -> set[str]:
    photos, metadata = frames
    keywords = read(generated_lake, "keywords")
    detections = read(generated_lake, "detections").explode("objects").dropna(subset=["objects"])
    detections["label"] = detections["objects"].map(lambda o: o["label"])
    detections["score"] = detections["objects"].map(lambda o: o["confidence"])
    colours = metadata["dominant_colors"].explode().dropna()
    clusters = read(generated_lake, "clusters").set_index("photo_id")["cluster"]
    landscape = set(metadata.index[metadata["orientation_class"] == "landscape"])
    match name:
        case "keyword":
            return set(keywords.loc[keywords["keyword"] == "nature", "photo_id"])
        case "object":
            return set(detections.loc[(detections["label"] == "dog") & (detections["score"] >= 0.6), "photo_id"])
        case "color":
            return set(colours[colours.map(lambda c: c["family"] == "blue")].index)
        case "hex":
            target = srgb_to_lab(np.array([[30, 144, 255]]))[0]
            lab = colours.map(lambda c: srgb_to_lab(np.array([[c["r"], c["g"], c["b"]]]))[0])
            return set(colours[lab.map(lambda v: np.linalg.norm(v - target) <= 25)].index)
        case "camera":
            return set(photos.loc[photos["camera_make"] == "Canon", "photo_id"]) & landscape
        case "model":
            return set(photos.loc[photos["camera_model"] == "ILCE-7M3", "photo_id"])
        case "size":
            return set(metadata.index[metadata["size_category"] == "large"])
        case "place":
            return set(photos.loc[(photos["photo_location_country"] == "Japan")
                                  & (photos["photo_location_city"] == "東京"), "photo_id"])
        case "dates":
            at = photos["photo_submitted_at"]
            return set(photos.loc[(at >= pd.Timestamp("2018-01-01", tz="UTC"))
                                  & (at < pd.Timestamp("2019-01-01", tz="UTC")), "photo_id"])
        case "cluster":
            return set(clusters.index[clusters == 2])
        case "located":
            return set(photos.loc[photos["photo_location_latitude"].notna(), "photo_id"])
        case "text":
            words = keywords.loc[keywords["keyword"].str.lower().str.contains(r"\bcity\b"), "photo_id"]
            text = photos["photo_description"].fillna("") + " " + photos["ai_description"].fillna("")
            return set(words) | set(photos.loc[text.str.lower().str.contains(r"\bcity\b"), "photo_id"])


FILTERS = {
    "keyword": {"keyword": "Nature"}, "object": {"object": "dog", "min_score": 0.6}, "color": {"color": "blue"},
    "hex": {"color": "#1e90ff", "color_distance": 25}, "camera": {"camera_make": "canon", "orientation": "landscape"},
    "model": {"camera_model": "ILCE-7M3"}, "size": {"size": "large"}, "place": {"country": "japan", "city": "東京"},
    "dates": {"date_from": "2018-01-01", "date_to": "2018-12-31"}, "cluster": {"cluster": 2},
    "located": {"has_location": "true"}, "text": {"q": "City"},
}


@pytest.mark.parametrize("name", FILTERS)
def test_each_filter_finds_exactly_the_photos_the_lake_says(client, frames, generated_lake, name):
    ids, first = all_pages(client, **FILTERS[name])
    wanted = expected_ids(client, frames, generated_lake, name)
    assert wanted, f"the generated lake should have photos for {name}"
    assert sorted(ids) == sorted(wanted) and first["total"] == len(wanted)


def test_a_text_search_ranks_by_relevance_and_needs_every_word(client, frames):
    photos, _ = frames
    body = client.get(f"{API}/photos", params={"q": "city night", "limit": 200}).json()
    assert body["sort"] == "relevance" and body["total"] > 0
    for card in body["photos"]:
        text = f"{card['description'] or ''} {photos.loc[card['photo_id'], 'ai_description']}".lower()
        keywords = " ".join(client.get(f"{API}/photos/{card['photo_id']}").json()["keywords"])
        assert all(word in f"{text} {keywords}" for word in ("city", "night"))
    described = [c for c in body["photos"] if "city lights at night" in (c["description"] or "").lower()]
    assert described and body["photos"].index(described[0]) < len(body["photos"]) // 2  # the description weighs most
    assert client.get(f"{API}/photos", params={"q": "zzzunknownword"}).json()["total"] == 0


@pytest.mark.parametrize("parameter, value, share", [
    ("orientation", "landscape", (0.5, 1)),  # most photos: counted as everyone's less those left out
    ("orientation", "portrait", (0.125, 0.5)),
    ("camera_make", "Leica", (0, 0.125)),  # a few: their object entries are read row by row
])
def test_facets_count_the_filtered_photos(client, frames, generated_lake, parameter, value, share):
    photos, metadata = frames
    body = client.get(f"{API}/photos", params={parameter: value, "limit": 1}).json()
    chosen = metadata.index[metadata["orientation_class"] == value] if parameter == "orientation" else \
        photos.index[photos["camera_make"] == value]
    assert share[0] < len(chosen) / len(photos) < share[1] and body["total"] == len(chosen)
    cameras = photos.loc[chosen, "camera_make"].value_counts()
    assert {f["value"]: f["count"] for f in body["facets"]["cameras"]} == cameras.head(20).to_dict()
    countries = photos.loc[chosen, "photo_location_country"].value_counts()
    assert {f["value"]: f["count"] for f in body["facets"]["countries"]} == countries.head(20).to_dict()
    orientations = metadata.loc[metadata.index.intersection(chosen), "orientation_class"].value_counts()
    assert {f["value"]: f["count"] for f in body["facets"]["orientations"]} == orientations.to_dict()
    detections = read(generated_lake, "detections").set_index("photo_id")
    objects = detections.loc[detections.index.intersection(chosen), "labels"].explode().dropna()
    counted = objects.reset_index().drop_duplicates().groupby("labels").size()
    assert {f["value"]: f["count"] for f in body["facets"]["objects"]} == counted.to_dict()
    assert set(body["facets"]) == {"objects", "colors", "cameras", "countries", "orientations"}
    assert "facets" not in client.get(f"{API}/photos", params={"facets": "false"}).json()


def test_a_photos_detections_list_the_model_served_first(tmp_path):
    lake = tmp_path / "lake"
    generate_lake(lake, LakeShape(photos=60, seed=4))
    shutil.copytree(lake / "detections" / "model=yolov3", lake / "detections" / "model=other")  # a second model
    photo_id = read(lake, "photos")["photo_id"][7]
    for model, order in (("", ["yolov3", "other"]), ("other", ["other", "yolov3"])):
        holder = holder_for(lake, tmp_path / (model or "default"), detect_model=model)
        body = TestClient(create_app(holder)).get(f"{API}/photos/{photo_id}").json()
        assert [d["model"] for d in body["detections"]] == order, model
        assert body["detections"][0]["objects"] == body["detections"][1]["objects"]


def test_one_photo_has_everything_the_lake_knows(client, generated_lake):
    detections = read(generated_lake, "detections")
    row = detections[detections["labels"].map(len) >= 2].iloc[0]
    body = client.get(f"{API}/photos/{row['photo_id']}").json()
    keywords = read(generated_lake, "keywords")
    assert body["photo"]["photo_id"] == row["photo_id"] and body["photo"]["photo_url"].endswith(row["photo_id"])
    assert body["keywords"] == sorted(set(keywords.loc[keywords["photo_id"] == row["photo_id"], "keyword"].str.lower()))
    [detected] = body["detections"]
    assert detected["model"] == "yolov3" and [o["label"] for o in detected["objects"]] == list(row["labels"])
    assert detected["objects"][0]["w"] == pytest.approx(row["objects"][0]["w"])
    metadata = read(generated_lake, "image_metadata").set_index("photo_id").loc[row["photo_id"]]
    assert [c["hex"] for c in body["colors"]] == [c["hex"] for c in metadata["dominant_colors"]]
    assert body["image"]["orientation_class"] == metadata["orientation_class"] and "exif" not in body["image"]
    assert body["download"]["status"] == "ok" and body["cluster"]["summary"]["description"].startswith("group")
    collections = read(generated_lake, "collections")
    assert [c["collection_title"] for c in body["collections"]] == \
        collections.loc[collections["photo_id"] == row["photo_id"], "collection_title"].tolist()
    submitted = read(generated_lake, "photos").set_index("photo_id").loc[row["photo_id"], "photo_submitted_at"]
    card = client.get(f"{API}/photos/{row['photo_id']}/similar").json()["similar"][0]["photo"]
    card_submitted = read(generated_lake, "photos").set_index("photo_id").loc[card["photo_id"], "photo_submitted_at"]
    assert body["photo"]["photo_submitted_at"] == submitted.isoformat() and submitted.isoformat().endswith("+00:00")
    assert card["submitted_at"] == card_submitted.isoformat()


def test_every_photos_palette_is_the_lakes_as_it_is(tmp_path):
    lake = tmp_path / "lake"
    generate_lake(lake, LakeShape(photos=40, seed=6))
    table = pq.read_table(f"{lake}/image_metadata")
    palettes = table["dominant_colors"].to_pylist()
    full = [n for n, p in enumerate(palettes) if p and len(p) >= 3]
    palettes[full[0]], palettes[full[2]] = [], None  # none found, which is not unknown
    palettes[full[1]] = [palettes[full[1]][0], None, {**palettes[full[1]][2], "r": None, "share": float("nan")}]
    for part in (lake / "image_metadata").glob("*.parquet"):
        part.unlink()
    column = pa.array(palettes, type=table.schema.field("dominant_colors").type)
    pq.write_table(table.set_column(table.schema.get_field_index("dominant_colors"), "dominant_colors", column),
                   lake / "image_metadata" / "part-0.parquet")
    client = TestClient(create_app(holder_for(lake, tmp_path)))
    nulls = 0
    for photo_id, palette in zip(table["photo_id"].to_pylist(), palettes):
        body = client.get(f"{API}/photos/{photo_id}").json()
        if palette is not None:  # NaN is not JSON: null, as every answer prints it
            palette = [c and {k: None if v != v else v for k, v in c.items()} for c in palette]
        assert body["colors"] == body["image"]["dominant_colors"] == palette, photo_id
        nulls += palette is None
    assert nulls == 1


def test_exif_comes_as_tag_names(client, generated_lake):
    metadata = read(generated_lake, "image_metadata")
    row = metadata[metadata["exif"].notna()].iloc[0]
    assert client.get(f"{API}/photos/{row['photo_id']}").json()["exif"] == dict(row["exif"])


@pytest.mark.parametrize("by", ["visual", "colour", "objects", "tags", "mixed"])
def test_similar_photos_are_ranked_with_a_reason(client, generated_lake, by):
    photo_id = read(generated_lake, "detections").query("status == 'ok'")["photo_id"].iloc[5]
    body = client.get(f"{API}/photos/{photo_id}/similar", params={"by": by, "k": 8}).json()
    scores = [s["score"] for s in body["similar"]]
    assert len(scores) == 8 and scores == sorted(scores, reverse=True) and scores[0] > 0
    assert photo_id not in [s["photo"]["photo_id"] for s in body["similar"]]
    assert all(s["why"] for s in body["similar"])
    # the best k of every photo's score, ties to the lower photo_id (objects' Jaccard scores tie a lot)
    lake = client.app.state.holder.current
    every = lake.features.scores(lake.pid(photo_id), by)
    ranked = sorted((-float(score), lake.photo_id(p)) for p, score in enumerate(every)
                    if score > 0 and p != lake.pid(photo_id))
    assert [s["photo"]["photo_id"] for s in body["similar"]] == [p for _, p in ranked[:8]]
    if by == "tags":
        own = set(client.get(f"{API}/photos/{photo_id}").json()["keywords"])
        best = set(client.get(f"{API}/photos/{body['similar'][0]['photo']['photo_id']}").json()["keywords"])
        assert own & best and body["similar"][0]["why"].startswith("tags ")


def test_near_duplicates_by_perceptual_hash(tmp_path):
    lake = tmp_path / "lake"
    generate_lake(lake, LakeShape(photos=30, seed=9))
    table = pq.read_table(f"{lake}/image_metadata")
    hashes = table["phash"].to_pylist()
    a, b, c = [n for n, h in enumerate(hashes) if h][:3]
    hashes[b] = f"{int(hashes[a], 16) ^ 0b101:016x}"  # 2 bits from photo a's
    hashes[c] = f"{int(hashes[a], 16) ^ 0xFFFF:016x}"  # 16 bits away
    for part in (lake / "image_metadata").glob("*.parquet"):
        part.unlink()
    pq.write_table(table.set_column(table.schema.get_field_index("phash"), "phash", [hashes]),
                   lake / "image_metadata" / "part-0.parquet")
    client = TestClient(create_app(holder_for(lake, tmp_path)))
    ids = table["photo_id"].to_pylist()
    body = client.get(f"{API}/photos/{ids[a]}/duplicates").json()
    assert [(d["photo"]["photo_id"], d["distance"]) for d in body["duplicates"]] == [(ids[b], 2)]
    wider = client.get(f"{API}/photos/{ids[a]}/duplicates", params={"max_distance": 16}).json()
    assert [d["photo"]["photo_id"] for d in wider["duplicates"]] == [ids[b], ids[c]]


def test_a_user_their_history_and_each_models_recommendations(client, generated_lake):
    interactions = read(generated_lake, "interactions")
    user_id = interactions["user_id"].value_counts().index[0]
    body = client.get(f"{API}/users/{user_id}").json()
    assert body["user"]["user_id"] == user_id and body["profile"]["favourite_tags"]
    mine = interactions[interactions["user_id"] == user_id].sort_values("at", ascending=False)
    assert [h["photo"]["photo_id"] for h in body["history"]] == mine["photo_id"].head(50).tolist()
    recs = client.get(f"{API}/users/{user_id}/recommendations", params={"k": 3}).json()
    assert recs["known"] and not recs["cold_start"]
    expected = read(generated_lake, "recommendations").query("user_id == @user_id and rank <= 3")
    got = {(r["model"], r["rank"], r["photo_id"]) for r in recs["recommendations"]}
    assert got == set(zip(expected["model"], expected["rank"], expected["photo_id"]))
    assert all(r["reason"] and r["photo"]["photo_id"] == r["photo_id"] for r in recs["recommendations"])
    als = client.get(f"{API}/users/{user_id}/recommendations", params={"model": "als"}).json()
    assert {r["model"] for r in als["recommendations"]} == {"als"} and len(als["recommendations"]) == 10


def test_an_unknown_user_gets_the_popular_photos_marked_as_such(client, frames):
    photos, _ = frames
    body = client.get(f"{API}/users/nobody-at-all/recommendations", params={"k": 4}).json()
    assert body["known"] is False and body["cold_start"] is True and "unknown user" in body["note"]
    popular = photos.sort_values(["stats_downloads", "stats_views"], ascending=False)["photo_id"].head(4).tolist()
    assert [r["photo_id"] for r in body["recommendations"]] == popular
    assert {r["strategy"] for r in body["recommendations"]} == {"popularity"}
    assert client.get(f"{API}/users/nobody-at-all").status_code == 404


def test_clusters_and_their_map(client, generated_lake):
    body = client.get(f"{API}/clusters", params={"points": 50}).json()
    assert [c["cluster"] for c in body["clusters"]] == list(range(SHAPE.clusters)) and len(body["points"]) == 50
    clusters = read(generated_lake, "clusters").set_index("photo_id")
    point = body["points"][0]
    assert clusters.loc[point["photo_id"], "pca_x"] == pytest.approx(point["x"])
    one = client.get(f"{API}/clusters/3", params={"limit": 10}).json()
    assert one["cluster"]["size"] == (clusters["cluster"] == 3).sum()
    assert {p["cluster"] for p in one["photos"]} == {3} and {p["photo_id"] for p in one["points"]} <= \
        set(clusters.index[clusters["cluster"] == 3])
    assert client.get(f"{API}/clusters/99").status_code == 404


def test_stats_count_the_lake(client, frames):
    photos, metadata = frames
    body = client.get(f"{API}/stats").json()
    assert {s["value"]: s["photos"] for s in body["cameras"]} == photos["camera_make"].value_counts().to_dict()
    assert {s["value"]: s["photos"] for s in body["orientations"]} == \
        metadata["orientation_class"].value_counts().to_dict()
    assert sum(s["photos"] for s in body["months"]) == len(photos) and body["photos"] == len(photos)
    # the palette: photos per family and per name (a photo once however many of its colours have it), the
    # families' summed shares, and each name's hex from its first row (photos in id order, colours in theirs)
    palette = [(photo_id, colour) for photo_id, row in metadata.sort_index().iterrows() if row["status"] == "ok"
               for colour in (row["dominant_colors"] if row["dominant_colors"] is not None else ())
               if colour["r"] is not None]
    family_photos, shares, name_photos, first_hex = {}, {}, {}, {}
    for photo_id, colour in palette:
        family_photos.setdefault(colour["family"], set()).add(photo_id)
        shares[colour["family"]] = shares.get(colour["family"], 0.0) + colour["share"]
        name_photos.setdefault(colour["name"], set()).add(photo_id)
        first_hex.setdefault(colour["name"], colour["hex"])
    assert len(family_photos) > 3 and len(name_photos) > 10
    assert [(s["value"], s["photos"]) for s in body["colors"]] == sorted(
        ((family, len(ids)) for family, ids in family_photos.items()), key=lambda pair: (-pair[1], pair[0]))
    assert {s["value"]: s["image_equivalents"] for s in body["colors"]} == pytest.approx(
        {family: round(share, 1) for family, share in shares.items()})
    assert [(s["value"], s["photos"], s["example_hex"]) for s in body["color_names"]] == sorted(
        ((name, len(ids), first_hex[name]) for name, ids in name_photos.items()),
        key=lambda row: (-row[1], row[0]))[:50]


def test_images_are_found_through_the_lake_resized_once_and_cached(client, generated_lake, frames):
    photos, _ = frames
    downloads = read(generated_lake, "downloads")
    photo_id = downloads["photo_id"].iloc[0]  # among the SHAPE.images that have a file
    url = client.get(f"{API}/photos/{photo_id}").json()["images"]["thumb"]
    thumb = client.get(url)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert "immutable" in thumb.headers["cache-control"]
    with Image.open(__import__("io").BytesIO(thumb.content)) as image:
        assert max(image.size) <= 320
    assert client.get(url, headers={"If-None-Match": thumb.headers["etag"]}).status_code == 304
    full = client.get(f"{API}/images/{photo_id}", params={"size": "full"})
    assert full.content == open(downloads["path"].iloc[0], "rb").read()
    missing = downloads["photo_id"].iloc[SHAPE.images + 1]  # no file on disk
    assert client.get(f"{API}/images/{missing}").status_code == 404
    assert client.get(f"{API}/images/{photo_id}", params={"size": "huge"}).status_code == 422
    assert client.get(f"{API}/images/{photo_id}", params={"path": "/etc/passwd"}).status_code == 422


def test_an_image_outside_the_images_folder_is_never_served(generated_lake, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    holder = LakeHolder(ServiceSettings(lake=str(generated_lake), images=str(other), cache_dir=str(tmp_path / "c"),
                                        reload_s=0))
    holder.start()
    photo_id = read(generated_lake, "downloads")["photo_id"].iloc[0]
    answer = TestClient(create_app(holder)).get(f"{API}/images/{photo_id}")
    assert answer.status_code == 404 and "outside" in answer.json()["error"]


def test_unchanged_answers_are_304_with_the_lake_version(client):
    first = client.get(f"{API}/photos", params={"object": "dog"})
    tag = first.headers["x-lake-version"]
    assert first.headers["etag"] == f'"{tag}"' and first.headers["cache-control"] == "no-cache"
    again = client.get(f"{API}/photos", params={"object": "dog"}, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.get(f"{API}/photos", headers={"If-None-Match": '"other"'}).status_code == 200


BAD = [
    ({"limit": 201}, "limit"), ({"limit": 0}, "limit"), ({"objekt": "dog"}, "objekt"),
    ({"date_from": "2020-13-01"}, "date_from"), ({"color": "notacolour"}, "color"), ({"cursor": "garbage"}, "cursor"),
    ({"min_score": 0.5}, "min_score"), ({"date_from": "2020-02-01", "date_to": "2020-01-01"}, "date_to"),
    ({"q": "!!!"}, "q"), ({"sort": "relevance"}, "sort"), ({"sort": "random"}, "sort"),
    ({"orientation": "diagonal"}, "orientation"), ({"min_score": 2, "object": "dog"}, "min_score"),
    ({"has_location": "maybe"}, "has_location"), ({"q": "x" * 201}, "q"), ({"cluster": -1}, "cluster"),
]


@pytest.mark.parametrize("params,parameter", BAD, ids=[p for _, p in BAD])
def test_bad_parameters_get_a_clear_422(client, params, parameter):
    answer = client.get(f"{API}/photos", params=params)
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid parameters" and parameter in [p["parameter"] for p in body["problems"]]
    assert "Traceback" not in answer.text


def test_a_cursor_belongs_to_its_sort(client):
    cursor = client.get(f"{API}/photos", params={"limit": 2}).json()["next_cursor"]
    answer = client.get(f"{API}/photos", params={"cursor": cursor, "sort": "most_viewed"})
    assert answer.status_code == 422 and "another sort" in answer.json()["problems"][0]["message"]


def test_unknown_ids_are_404_and_other_mistakes_4xx(client):
    assert client.get(f"{API}/photos/doesnotexist").json() == {"error": "no photo 'doesnotexist' in this lake"}
    assert client.get(f"{API}/photos/{'x' * 65}").status_code == 422
    assert client.get(f"{API}/photos/doesnotexist/similar").status_code == 404
    assert client.get(f"{API}/photos/doesnotexist/similar?by=smell").status_code == 422
    assert client.get(f"{API}/users/u0000001/recommendations?k=101").status_code == 422
    assert client.get(f"{API}/users/u0000001/recommendations?model=magic").status_code == 422
    assert client.get(f"{API}/clusters?points=20001").status_code == 422
    written = client.post(f"{API}/photos")
    assert written.status_code == 405 and written.json() == {"error": "Method Not Allowed: POST /api/v1/photos"}
    assert written.headers["allow"] == "GET"  # read-only
    assert client.get(f"{API}/nothing-here").json() == {"error": "Not Found: GET /api/v1/nothing-here"}


def test_a_failure_inside_is_a_500_without_a_stack_trace(generated_lake, tmp_path):
    holder = holder_for(generated_lake, tmp_path)
    holder.current.features.nearest = lambda *args: 1 / 0
    answer = TestClient(create_app(holder), raise_server_exceptions=False).get(
        f"{API}/photos/{holder.current.photo_id(0)}/similar")
    assert answer.status_code == 500 and answer.json() == {"error": "internal error: the service's log has the details"}


def test_every_endpoint_is_in_the_openapi_schema(client):
    paths = set(client.get(f"{API}/openapi.json").json()["paths"])
    assert paths == {"/healthz", "/readyz", f"{API}/version", f"{API}/photos", f"{API}/photos/{{photo_id}}",
                     f"{API}/photos/{{photo_id}}/similar", f"{API}/photos/{{photo_id}}/duplicates", f"{API}/users",
                     f"{API}/users/{{user_id}}", f"{API}/users/{{user_id}}/recommendations", f"{API}/clusters",
                     f"{API}/clusters/{{cluster}}", f"{API}/stats", f"{API}/images/{{photo_id}}"}
    assert client.get("/docs").status_code == 200


def test_cors_is_off_unless_configured(generated_lake, tmp_path, client):
    origin = {"Origin": "https://other.example"}
    assert "access-control-allow-origin" not in client.get(f"{API}/stats", headers=origin).headers
    allowed = TestClient(create_app(holder_for(generated_lake, tmp_path, cors_origins=("https://other.example",))))
    assert allowed.get(f"{API}/stats", headers=origin).headers["access-control-allow-origin"] == "https://other.example"


def test_with_one_thread_the_lake_endpoints_run_on_the_event_loop_and_answer_the_same(generated_lake, tmp_path,
                                                                                       client):
    one = create_app(holder_for(generated_lake, tmp_path, threads=1))
    ours = {route.path: route.endpoint for route in one.routes if getattr(route, "endpoint", None)}
    assert inspect.iscoroutinefunction(ours[f"{API}/photos/{{photo_id}}"])
    assert not inspect.iscoroutinefunction(ours[f"{API}/images/{{photo_id}}"])  # reads files: on its thread
    first = client.get(f"{API}/photos", params={"limit": 1}).json()
    photo_id, detected = first["photos"][0]["photo_id"], first["facets"]["objects"][0]["value"]
    user = client.get(f"{API}/users", params={"limit": 1}).json()["users"][0]["user_id"]
    paths = [f"{API}/version", f"{API}/photos?object={detected}&sort=most_viewed", f"{API}/photos/{photo_id}",
             f"{API}/photos/{photo_id}/similar?by=mixed", f"{API}/photos/{photo_id}/duplicates", f"{API}/users",
             f"{API}/users/{user}", f"{API}/users/{user}/recommendations", f"{API}/clusters", f"{API}/clusters/0",
             f"{API}/stats", f"{API}/photos/nope", f"{API}/photos?limit=0"]
    with TestClient(one) as alone:
        for path in paths:
            answer = alone.get(path)
            expected = client.get(path)
            assert answer.status_code == expected.status_code, path
            if path.endswith("/version"):
                assert answer.json()["tables"] == expected.json()["tables"]
            else:
                assert answer.json() == expected.json(), path


def test_health_and_readiness(client, tmp_path):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    waiting = LakeHolder(ServiceSettings(lake=str(tmp_path / "none"), cache_dir=str(tmp_path / "c"), reload_s=0))
    waiting.start(required=False)
    idle = TestClient(create_app(waiting))
    ready = idle.get("/readyz")
    assert ready.status_code == 503 and "no lake at" in ready.json()["reason"]
    assert idle.get(f"{API}/photos").status_code == 503
    assert waiting.check_now() is False  # still nothing there
    with pytest.raises(store.LakeUnavailable, match="no lake at .*run the pipeline first"):
        LakeHolder(ServiceSettings(lake=str(tmp_path / "none"))).start()
    (tmp_path / "empty").mkdir()
    with pytest.raises(store.LakeUnavailable, match="has no photos table"):
        LakeHolder(ServiceSettings(lake=str(tmp_path / "empty"))).start()
    with pytest.raises(store.LakeUnavailable, match="local or mounted filesystem.*mount the bucket"):
        LakeHolder(ServiceSettings(lake="s3a://bucket/lake")).start()
    generate_lake(tmp_path / "none", LakeShape(photos=30, seed=5))  # the first run finishes
    assert waiting.check_now() is True and idle.get("/readyz").json()["photos"] == 30
    (tmp_path / "a-file").write_text("")
    with pytest.raises(store.LakeUnavailable, match="the cache folder .*a-file/cache/index cannot be made: Not a dir"):
        LakeHolder(ServiceSettings(lake=str(tmp_path / "none"), cache_dir=str(tmp_path / "a-file" / "cache"))).start()


def test_a_lake_of_only_the_photos_table_is_served(generated_lake, tmp_path):
    shutil.copytree(generated_lake / "photos", tmp_path / "lake" / "photos")  # ingest alone, say
    client = TestClient(create_app(holder_for(tmp_path / "lake", tmp_path)))
    photo_id = read(generated_lake, "photos")["photo_id"].iloc[0]
    for path in (f"{API}/photos", f"{API}/photos/{photo_id}", f"{API}/photos/{photo_id}/similar",
                 f"{API}/photos/{photo_id}/duplicates", f"{API}/stats", f"{API}/clusters",
                 f"{API}/users/nobody/recommendations"):
        assert client.get(path).status_code == 200, path
    stats = client.get(f"{API}/stats").json()
    assert stats["photos"] == SHAPE.photos and stats["colors"] == [] and stats["color_names"] == []
    assert "image_metadata" in client.get(f"{API}/version").json()["missing_tables"]


def test_a_new_run_is_served_without_a_restart_and_a_half_written_one_never(generated_lake, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(generated_lake, lake)
    holder = holder_for(lake, tmp_path)
    client = TestClient(create_app(holder))
    old = holder.current
    old_tag = client.get(f"{API}/version").json()["version"]
    in_flight = client.get(f"{API}/photos", params={"limit": 1}).json()["photos"][0]["photo_id"]
    assert holder.check_now() is False  # nothing new
    # a job rewrites a table: until its marker comes the lake is not settled and stays unseen
    (lake / "clusters" / "part-00000.snappy.parquet").write_bytes(b"half a file")
    assert lake_version.current(str(lake))[1] is False and holder.check_now() is False
    assert client.get(f"{API}/version").json()["version"] == old_tag
    # the job finishes: a new lake (other photos), its marker last
    generate_lake(lake, LakeShape(photos=120, seed=4))
    assert holder.check_now() is True
    body = client.get(f"{API}/version").json()
    assert body["version"] != old_tag and body["tables"]["photos"] == 120
    assert client.get(f"{API}/photos/{in_flight}").status_code == 404  # gone from the new version
    assert old.pid(in_flight) is not None and search_first(old) == in_flight  # the old one still answers
    stale = client.get(f"{API}/photos", headers={"If-None-Match": f'"{old_tag}"'})
    assert stale.status_code == 200  # a new version: the old ETag no longer matches


def search_first(lake) -> str:
    from photolake.serve import search

    return search.search(lake, search.Filters(), "newest", 1, None, False)["photos"][0]["photo_id"]


def test_a_broken_new_version_is_refused_and_the_old_one_kept(generated_lake, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(generated_lake, lake)
    holder = holder_for(lake, tmp_path)
    old_tag = holder.current.tag
    for part in (lake / "photos").glob("*.parquet"):
        part.write_bytes(b"not parquet at all")
    lake_version.mark(str(lake), "broken-run", at=datetime(2026, 12, 1, tzinfo=timezone.utc))
    assert holder.check_now() is False and holder.current.tag == old_tag
    holder.load = lambda: pytest.fail("a refused version is not loaded again")
    assert holder.check_now() is False  # until another run finishes
    ready = TestClient(create_app(holder)).get("/readyz").json()
    assert ready["status"] == "ready" and "could not be loaded, still serving the old one" in ready["warning"]


def test_the_real_pipelines_lake_is_served(analysed, tmp_path):
    """The lake the pipeline wrote (real photos, yolox-nano, ALS): settled by its marker, every endpoint answers."""
    lake, config = analysed
    version, settled = lake_version.current(lake)
    assert settled and "-pipeline-" in version.run_id
    holder = LakeHolder(ServiceSettings(lake=lake, images=config["paths.images"], cache_dir=str(tmp_path), reload_s=0))
    holder.start()
    client = TestClient(create_app(holder))
    body = client.get(f"{API}/version").json()
    assert body["missing_tables"] == [] and body["detections_model"] == "yolox-nano"
    photos = client.get(f"{API}/photos", params={"limit": 200}).json()
    assert photos["total"] == body["tables"]["photos"] and photos["facets"]["objects"]
    detected = client.get(f"{API}/photos", params={"object": photos["facets"]["objects"][0]["value"]}).json()
    photo_id = detected["photos"][0]["photo_id"]
    one = client.get(f"{API}/photos/{photo_id}").json()
    assert one["detections"][0]["objects"] and one["image"]["status"] == "ok" and one["images"]
    assert client.get(one["images"]["thumb"]).status_code == 200
    for path in (f"/photos/{photo_id}/similar", f"/photos/{photo_id}/duplicates", "/clusters", "/clusters/0", "/stats"):
        assert client.get(API + path).status_code == 200, path
    user = client.get(f"{API}/users", params={"limit": 1}).json()["users"][0]["user_id"]
    recs = client.get(f"{API}/users/{user}/recommendations").json()
    assert recs["known"] and {r["model"] for r in recs["recommendations"]} >= {"als", "popularity"}
