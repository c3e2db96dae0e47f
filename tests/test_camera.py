"""Every messy form of the dataset's free-text EXIF (reference/unsplash-dataset-format.md) and its value."""

import pytest

from photolake.camera import (
    is_no_value,
    normalise_make,
    normalise_model,
    parse_aperture,
    parse_exposure,
    parse_focal_length,
    parse_iso,
)


@pytest.mark.parametrize("text, expected", [
    ("1.8", 1.8), ("5,6", 5.6), ("7,5", 7.5), ("f/5", 5.0), ("f/2.8", 2.8), ("f4.0", 4.0), ("f14", 14.0),
    ("F/1.4", 1.4), ("28/10", 2.8), (" 2.8 ", 2.8),
    ("undef", None), ("inf", None), ("Inf", None), ("", None), (None, None), ("wide open", None), ("0", None),
    ("1/0", None),
])
def test_aperture(text, expected):
    assert parse_aperture(text) == pytest.approx(expected) if expected else parse_aperture(text) is None


@pytest.mark.parametrize("text, expected", [
    ("50.0", 50.0), ("91 mm", 91.0), ("50mm", 50.0), ("75-300", 75.0), ("18-55mm", 18.0), ("4.0 ~ 28mm", 4.0),
    ("4,5", 4.5), ("24 to 70mm", 24.0), ("abc", None), ("-", None), ("0", None),
])
def test_focal_length(text, expected):
    assert parse_focal_length(text) == pytest.approx(expected) if expected else parse_focal_length(text) is None


@pytest.mark.parametrize("text, expected", [
    ("1/125", 1 / 125), ("15s", 15.0), ("1/100s", 0.01), ("1 / 200s", 0.005), ("63 Seconds", 63.0),
    ('1.6"', 1.6), ('30"', 30.0), ("2h", 7200.0), ("0.008", 0.008), ("1/125 sec", 0.008), ("1/8000", 1 / 8000),
    ("-", None), ("fast", None), ("1/0", None), ("", None), ("1/125 parsecs", None),
])
def test_exposure(text, expected):
    assert parse_exposure(text) == pytest.approx(expected) if expected else parse_exposure(text) is None


@pytest.mark.parametrize("text, expected", [
    ("100", 100), ("100.0", 100), ("ISO 400", 400), ("200, 400", 200), ("6400", 6400), ("", None),
    ("ISO", None), ("12.5", None), ("-100", None),
])
def test_iso(text, expected):
    assert parse_iso(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("NIKON CORPORATION", "Nikon"), ("Nikon", "Nikon"), ("NIKON", "Nikon"), ("SONY", "Sony"), ("Sony", "Sony"),
    ("OLYMPUS IMAGING CORP.", "Olympus"), ("OLYMPUS CORPORATION", "Olympus"), ("OLYMPUS OPTICAL CO.,LTD", "Olympus"),
    ("Canon", "Canon"), ("FUJIFILM", "Fujifilm"), ("Fuji Photo Film Co., Ltd.", "Fujifilm"),
    ("samsung", "Samsung"), ("LG Electronics", "LG"), ("LGE", "LG"), ("LEICA CAMERA AG", "Leica"),
    ("RICOH IMAGING COMPANY, LTD.", "Pentax"), ("PENTAX Corporation", "Pentax"), ("Apple", "Apple"),
    ("Canon\x00\x00\x00", "Canon"), ("  Google  ", "Google"), ("EASTMAN KODAK COMPANY", "Kodak"),
    ("ACME IMAGING CORP.", "Acme"), ("Acme", "Acme"), ("", None), ("undef", None), (None, None),
])
def test_make(text, expected):
    assert normalise_make(text) == expected


@pytest.mark.parametrize("make, model, expected", [
    ("RICOH IMAGING COMPANY, LTD.", "PENTAX K-1", "Pentax"), ("RICOH IMAGING COMPANY, LTD.", "PENTAX KP", "Pentax"),
    ("RICOH IMAGING COMPANY, LTD.", "RICOH GR III", "Ricoh"), ("RICOH IMAGING COMPANY, LTD.", "GR IIIx", "Ricoh"),
    ("RICOH IMAGING COMPANY, LTD.", None, "Pentax"), ("RICOH", "Caplio RR330", "Ricoh"),
    ("Ricoh Company, Ltd.", "RICOH THETA Z1", "Ricoh"), ("PENTAX Corporation", "PENTAX K10D", "Pentax"),
    ("OM Digital Solutions", "OM-1", "OM System"), ("OM Digital Solutions", "E-M1MarkIII", "Olympus"),
    ("OLYMPUS CORPORATION", "E-M1MarkII", "Olympus"), ("HMD Global", "Nokia 8.3 5G", "Nokia"),
    ("NIKON CORPORATION", "NIKON D750", "Nikon"),
])
def test_brand_from_make_and_model(make, model, expected):
    assert normalise_make(make, model) == expected


@pytest.mark.parametrize("spellings, expected", [
    (["realme", "Realme", "REALME"], "realme"), (["OPPO", "oppo"], "OPPO"), (["vivo", "VIVO"], "vivo"),
    (["ACME IMAGING CORP.", "acme", "Acme", "ACME"], "Acme"),
])
def test_one_spelling_per_brand_whatever_the_case(spellings, expected):
    assert {normalise_make(text) for text in spellings} == {expected}


def test_model_is_kept_as_written_but_trimmed_and_cut_at_nul():
    assert normalise_model("  NIKON  D750 \x00garbage") == "NIKON D750"
    assert normalise_model("Canon EOS 5D Mark III") == "Canon EOS 5D Mark III"
    assert normalise_model("") is None


def test_no_value_markers_are_not_garbage():
    assert all(is_no_value(t) for t in ("undef", "inf", "Inf", "-", "", " ", None))
    assert not is_no_value("fast")
