"""Swapped latitude/longitude decided from a release's rows: the evidence counted in Spark, the rule on it."""

from __future__ import annotations

import pytest

from photolake.ingest.coordinates import LatLonEvidence, decide_lat_lon, lat_lon_evidence

LAT, LON, COUNTRY = "photo_location_latitude", "photo_location_longitude", "photo_location_country"


def test_each_row_counts_once_per_kind_of_evidence(spark):
    rows = [
        ("48.0", "14.1", "Austria"),  # in Austria as given only
        ("14.1", "48.0", "Austria"),  # only swapped
        ("139.65", "35.67", "Japan"),  # latitude out of range, and in Japan only swapped
        ("-17.8", "178.4", "Fiji"),  # a longitude out of range; Fiji's box crosses 180 degrees
        ("-17.8", "-179.9", "fiji"),  # ... on both sides, any case
        ("40.7", "-74.0", "USA"),  # an alias
        ("52.37", "4.9", " The  Netherlands "),  # a leading "the", stray spaces
        ("10.0", "10.0", "Atlantis"),  # no box: no evidence
        ("95.0", "100.0", "Japan"),  # both out of range: nothing
        (None, "12.0", None),  # a longitude alone moves too
        (None, None, "France"),  # no coordinates: not counted
        ("north", "east", "France"),  # not numbers: not counted
    ]
    photos = spark.createDataFrame(rows, f"{LAT} string, {LON} string, {COUNTRY} string")
    assert lat_lon_evidence(spark, photos) == LatLonEvidence(with_coordinates=10, lat_outside=1, lon_outside=2,
                                                             fit_as_given=5, fit_swapped=2)


@pytest.mark.parametrize("evidence, swap, says", [
    (LatLonEvidence(100, lat_outside=30, fit_swapped=60), True, "were swapped in this release"),
    (LatLonEvidence(100, lat_outside=1, lon_outside=30, fit_as_given=60), False, "as given (latitudes"),
    (LatLonEvidence(100, lat_outside=20, lon_outside=20), False, "the evidence disagrees"),
    (LatLonEvidence(3, fit_swapped=3), False, "too little evidence"),
    (LatLonEvidence(0), False, "too little evidence"),
])
def test_the_rule_needs_enough_evidence_that_agrees(evidence, swap, says):
    decision = decide_lat_lon(evidence)
    assert decision.swap is swap and says in decision.note
    assert ("100 rows moved" in decision.note) is swap


def test_a_setting_or_a_documented_release_forces_either_way():
    swapped_rows = LatLonEvidence(10, lat_outside=10)
    assert decide_lat_lon(swapped_rows, "as_given").swap is False
    assert decide_lat_lon(LatLonEvidence(10, lon_outside=10), "swapped").swap is True
    assert decide_lat_lon(LatLonEvidence(10, lon_outside=10), release="1.2.0").swap is True
    assert decide_lat_lon(swapped_rows, release="1.3.0").swap is False
    assert decide_lat_lon(swapped_rows, release="1.0.2").swap is True  # an older version lets the rows decide


def test_the_boxes_hold_known_places_only_as_given():
    from photolake.ingest.countries import ALIASES, BOXES
    from photolake.sample.vocabulary import PLACES

    def inside(box, lat, lon):
        south, north, west, east = box
        return south <= lat <= north and (west <= lon <= east if west <= east else lon >= west or lon <= east)

    places = [(country, lat, lon) for _, _, country, lat, lon in PLACES] + [
        ("Austria", 48.0, 14.1), ("Russia", 55.75, 37.62), ("Russia", 64.7, 177.5), ("United States", 21.3, -157.9),
        ("United States", 61.2, -149.9), ("New Zealand", -36.85, 174.76), ("Chile", -27.1, -109.4),
        ("Norway", 78.2, 15.6), ("Spain", 28.1, -15.4), ("Portugal", 38.7, -27.2), ("Indonesia", -8.65, 115.2)]
    for country, lat, lon in places:
        box = BOXES[ALIASES.get(country.lower(), country.lower())]
        assert inside(box, lat, lon) and not inside(box, lon, lat), country
    assert all(key in BOXES for key in ALIASES.values())
