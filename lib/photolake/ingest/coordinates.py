"""Whether a release has the photos' latitude and longitude swapped, decided from its own rows.

The dataset's issue #63 reports the two columns swapped in 1.2.2 and the 1.3.0 changelog fixes it, but
1.0.x rows are right (a photo in Austria at latitude 48.0, longitude 14.1): the version alone cannot say.
Two kinds of evidence, each row counted once per kind:
- a value outside [-90, 90] can only be a longitude: rows whose latitude is outside it while their
  longitude is inside point to a swap, and the reverse to the columns as given;
- a photo's ``photo_location_country`` has a rough box (ingest.countries): rows whose point falls in it
  only as given, or only swapped.
The evidence decides when it has at least MIN_EVIDENCE points and one side holds AGREEMENT of them;
otherwise the columns are left as they are and the run summary says why."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from photolake.ingest.countries import country_rows
from photolake.ingest.transform import typed_value

MIN_EVIDENCE = 5
AGREEMENT = 0.9
# the releases documented with the columns swapped: an explicit --release in this range forces the swap,
# one from 1.3.0 on forces them as given; older ones let the rows decide
SWAPPED_RELEASES = ((1, 2, 0), (1, 3, 0))

LAT, LON = "photo_location_latitude", "photo_location_longitude"


@dataclass(frozen=True)
class LatLonEvidence:
    with_coordinates: int = 0  # rows with a latitude or a longitude: the rows a swap moves
    lat_outside: int = 0  # latitude outside [-90, 90], longitude inside: only a swap makes sense of it
    lon_outside: int = 0  # the reverse: the columns as given
    fit_as_given: int = 0  # the point is in its country's box only as given
    fit_swapped: int = 0  # only swapped

    @property
    def for_swap(self) -> int:
        return self.lat_outside + self.fit_swapped

    @property
    def for_as_given(self) -> int:
        return self.lon_outside + self.fit_as_given

    def describe(self) -> str:
        return (f"latitudes outside [-90, 90] in {self.lat_outside:,} rows, longitudes in {self.lon_outside:,}; "
                f"photos in their country's box only swapped {self.fit_swapped:,}, only as given "
                f"{self.fit_as_given:,}")


@dataclass(frozen=True)
class LatLonDecision:
    swap: bool
    note: str


def _in_box(lat: Column, lon: Column) -> Column:
    """The point is in the joined row's box (a box whose west edge is east of its east edge crosses 180°)."""
    in_lon = F.when(F.col("_west") <= F.col("_east"), lon.between(F.col("_west"), F.col("_east"))) \
        .otherwise((lon >= F.col("_west")) | (lon <= F.col("_east")))
    return lat.between(F.col("_south"), F.col("_north")) & in_lon


def lat_lon_evidence(spark: SparkSession, photos: DataFrame) -> LatLonEvidence:
    """The evidence in ``photos``' text columns (cleaned: trimmed, empty as null), in one pass."""
    boxes = spark.createDataFrame(country_rows(), "_country string, _south double, _north double, _west double, "
                                                  "_east double")
    name = F.regexp_replace(F.regexp_replace(F.lower(F.trim("photo_location_country")), r"\s+", " "), "^the ", "")
    lat, lon = typed_value("double", F.col(LAT)), typed_value("double", F.col(LON))  # finite numbers or null
    rows = (photos.select(lat.alias("lat"), lon.alias("lon"), name.alias("_country"))
            .where(F.col("lat").isNotNull() | F.col("lon").isNotNull())
            .join(F.broadcast(boxes), "_country", "left"))
    inside, outside = (lambda c: F.abs(c) <= 90), (lambda c: (F.abs(c) > 90) & (F.abs(c) <= 180))
    lat_c, lon_c = F.col("lat"), F.col("lon")
    as_given, swapped = _in_box(lat_c, lon_c), _in_box(lon_c, lat_c)

    def count(condition: Column) -> Column:
        return F.sum(F.when(condition, 1).otherwise(0))

    totals = rows.agg(
        F.count(F.lit(1)).alias("with_coordinates"),
        count(outside(lat_c) & inside(lon_c)).alias("lat_outside"),
        count(outside(lon_c) & inside(lat_c)).alias("lon_outside"),
        count(F.col("_south").isNotNull() & as_given & ~swapped).alias("fit_as_given"),
        count(F.col("_south").isNotNull() & swapped & ~as_given).alias("fit_swapped"),
    ).first()
    return LatLonEvidence(**{name: int(totals[name] or 0) for name in totals.asDict()})


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".")[:3])


def decide_lat_lon(evidence: LatLonEvidence, choice: str = "auto", release: str = "auto") -> LatLonDecision:
    """Swap or not: ``choice`` (ingest.lat_lon) when it is not auto, else an explicit ``release`` whose
    state is documented, else the evidence."""
    moved = f"{evidence.with_coordinates:,} rows moved"
    if choice == "swapped":
        return LatLonDecision(True, f"latitude/longitude swapped back (ingest.lat_lon = swapped); {moved}")
    if choice == "as_given":
        return LatLonDecision(False, "latitude/longitude kept as given (ingest.lat_lon = as_given)")
    if release not in ("", "auto"):
        version = _version(release)
        if SWAPPED_RELEASES[0] <= version < SWAPPED_RELEASES[1]:
            return LatLonDecision(True, f"latitude/longitude swapped back (--release {release}: a release documented "
                                        f"with them swapped); {moved}")
        if version >= SWAPPED_RELEASES[1]:
            return LatLonDecision(False, f"latitude/longitude kept as given (--release {release})")
    points = evidence.for_swap + evidence.for_as_given
    force = "--set ingest.lat_lon=swapped (or as_given) decides instead"
    if points < MIN_EVIDENCE:
        return LatLonDecision(False, f"latitude/longitude left as given: too little evidence to tell whether they are "
                                     f"swapped ({points} points, {MIN_EVIDENCE} needed: {evidence.describe()}); "
                                     f"{force}")
    if evidence.for_swap >= AGREEMENT * points:
        return LatLonDecision(True, f"latitude/longitude were swapped in this release and are swapped back "
                                    f"({evidence.describe()}); {moved}")
    if evidence.for_as_given >= AGREEMENT * points:
        return LatLonDecision(False, f"latitude/longitude as given ({evidence.describe()})")
    return LatLonDecision(False, f"latitude/longitude left as given: the evidence disagrees ({evidence.describe()}); "
                                 f"{force}")

