"""Rough bounding boxes of the countries photos are taken in: enough to tell whether a photo's latitude and
longitude fit its ``photo_location_country`` as given or only swapped. Each box is (south, north, west,
east) in degrees, rounded outwards by up to a degree and covering a country's main islands; west > east
means the box crosses the 180th meridian."""

from __future__ import annotations

Box = tuple[float, float, float, float]

BOXES: dict[str, Box] = {
    # Europe
    "albania": (39.6, 42.7, 19.1, 21.1), "andorra": (42.4, 42.7, 1.4, 1.8), "austria": (46.3, 49.1, 9.5, 17.2),
    "belarus": (51.2, 56.2, 23.2, 32.8), "belgium": (49.4, 51.6, 2.5, 6.5),
    "bosnia and herzegovina": (42.5, 45.3, 15.7, 19.7), "bulgaria": (41.2, 44.3, 22.3, 28.7),
    "croatia": (42.3, 46.6, 13.4, 19.5), "cyprus": (34.5, 35.8, 32.2, 34.7), "czechia": (48.5, 51.1, 12.0, 18.9),
    "denmark": (54.5, 57.8, 8.0, 15.2), "estonia": (57.5, 59.8, 21.7, 28.3), "faroe islands": (61.3, 62.5, -7.8, -6.2),
    "finland": (59.7, 70.1, 20.5, 31.6), "france": (41.3, 51.1, -5.2, 9.6), "germany": (47.2, 55.1, 5.8, 15.1),
    "greece": (34.8, 41.8, 19.3, 29.7), "hungary": (45.7, 48.6, 16.1, 22.9), "iceland": (63.2, 66.6, -24.6, -13.4),
    "ireland": (51.4, 55.4, -10.7, -5.9), "italy": (35.4, 47.1, 6.6, 18.6), "kosovo": (41.8, 43.3, 20.0, 21.8),
    "latvia": (55.6, 58.1, 20.9, 28.3), "liechtenstein": (47.0, 47.3, 9.4, 9.7), "lithuania": (53.9, 56.5, 20.9, 26.9),
    "luxembourg": (49.4, 50.2, 5.7, 6.6), "malta": (35.7, 36.1, 14.1, 14.6), "moldova": (45.4, 48.5, 26.6, 30.2),
    "monaco": (43.7, 43.8, 7.4, 7.5), "montenegro": (41.8, 43.6, 18.4, 20.4), "netherlands": (50.7, 53.6, 3.3, 7.3),
    "north macedonia": (40.8, 42.4, 20.4, 23.1), "norway": (57.9, 81.0, 4.5, 33.0), "poland": (49.0, 54.9, 14.1, 24.2),
    "portugal": (32.6, 42.2, -31.3, -6.2), "romania": (43.6, 48.3, 20.2, 29.7), "russia": (41.1, 82.0, 19.6, -169.0),
    "san marino": (43.8, 44.0, 12.4, 12.6), "serbia": (42.2, 46.2, 18.8, 23.0), "slovakia": (47.7, 49.6, 16.8, 22.6),
    "slovenia": (45.4, 46.9, 13.4, 16.6), "spain": (27.6, 43.8, -18.2, 4.4), "sweden": (55.3, 69.1, 11.0, 24.2),
    "switzerland": (45.8, 47.8, 5.9, 10.5), "ukraine": (44.4, 52.4, 22.1, 40.2),
    "united kingdom": (49.9, 60.9, -8.7, 1.8), "vatican city": (41.8, 42.0, 12.4, 12.5),
    "turkey": (35.8, 42.2, 25.6, 44.9), "georgia": (41.0, 43.6, 39.9, 46.8), "armenia": (38.8, 41.3, 43.4, 46.7),
    "azerbaijan": (38.3, 41.9, 44.7, 50.4), "greenland": (59.7, 83.7, -73.1, -11.3),
    # The Americas
    "united states": (18.9, 71.5, 172.0, -66.9), "puerto rico": (17.8, 18.6, -67.3, -65.2),
    "canada": (41.6, 83.2, -141.1, -52.6), "mexico": (14.5, 32.8, -118.5, -86.7),
    "guatemala": (13.7, 17.9, -92.3, -88.2), "belize": (15.8, 18.5, -89.3, -87.4),
    "honduras": (12.9, 16.6, -89.4, -83.1), "el salvador": (13.1, 14.5, -90.2, -87.6),
    "nicaragua": (10.7, 15.1, -87.7, -82.7), "costa rica": (5.4, 11.3, -87.2, -82.5),
    "panama": (7.1, 9.7, -83.1, -77.1), "cuba": (19.8, 23.3, -85.0, -74.1),
    "dominican republic": (17.5, 20.0, -72.1, -68.3), "haiti": (18.0, 20.1, -74.5, -71.6),
    "jamaica": (17.7, 18.6, -78.4, -76.2), "bahamas": (20.9, 27.3, -79.3, -72.7),
    "barbados": (13.0, 13.4, -59.7, -59.4), "trinidad and tobago": (10.0, 11.4, -61.9, -60.5),
    "colombia": (-4.3, 13.4, -82.0, -66.8), "venezuela": (0.6, 12.2, -73.4, -59.8),
    "ecuador": (-5.0, 1.7, -92.1, -75.2), "peru": (-18.4, 0.0, -81.4, -68.6), "bolivia": (-22.9, -9.7, -69.7, -57.4),
    "brazil": (-33.8, 5.3, -74.0, -28.8), "chile": (-56.0, -17.5, -109.5, -66.4),
    "argentina": (-55.1, -21.8, -73.6, -53.6), "uruguay": (-35.0, -30.1, -58.5, -53.1),
    "paraguay": (-27.6, -19.3, -62.7, -54.2), "guyana": (1.2, 8.6, -61.4, -56.5), "suriname": (1.8, 6.0, -58.1, -53.9),
    # Asia
    "japan": (20.4, 45.6, 122.9, 154.0), "south korea": (33.1, 38.7, 124.6, 131.9),
    "north korea": (37.6, 43.0, 124.2, 130.7), "china": (18.1, 53.6, 73.5, 134.8), "taiwan": (21.9, 26.4, 118.1, 122.1),
    "hong kong": (22.1, 22.6, 113.8, 114.5), "macao": (22.1, 22.3, 113.5, 113.7), "mongolia": (41.5, 52.2, 87.7, 119.9),
    "india": (6.5, 37.1, 68.0, 97.5), "pakistan": (23.6, 37.1, 60.8, 77.9), "bangladesh": (20.6, 26.7, 88.0, 92.7),
    "nepal": (26.3, 30.5, 80.0, 88.3), "bhutan": (26.7, 28.4, 88.7, 92.2), "sri lanka": (5.9, 9.9, 79.5, 81.9),
    "maldives": (-0.7, 7.1, 72.6, 73.8), "afghanistan": (29.3, 38.5, 60.5, 74.9), "iran": (25.0, 39.8, 44.0, 63.4),
    "iraq": (29.0, 37.4, 38.8, 48.6), "israel": (29.4, 33.4, 34.2, 35.9), "palestine": (31.2, 32.6, 34.2, 35.6),
    "jordan": (29.1, 33.4, 34.9, 39.3), "lebanon": (33.0, 34.7, 35.1, 36.7), "syria": (32.3, 37.4, 35.7, 42.4),
    "saudi arabia": (16.3, 32.2, 34.5, 55.7), "united arab emirates": (22.6, 26.1, 51.5, 56.4),
    "qatar": (24.4, 26.2, 50.7, 51.7), "kuwait": (28.5, 30.1, 46.5, 48.5), "bahrain": (25.5, 26.4, 50.3, 50.9),
    "oman": (16.6, 26.5, 51.8, 59.9), "yemen": (12.1, 19.0, 42.5, 54.6), "kazakhstan": (40.5, 55.5, 46.4, 87.4),
    "uzbekistan": (37.1, 45.6, 55.9, 73.2), "kyrgyzstan": (39.1, 43.3, 69.2, 80.3),
    "tajikistan": (36.6, 41.1, 67.3, 75.2), "turkmenistan": (35.1, 42.8, 52.4, 66.7),
    "thailand": (5.6, 20.5, 97.3, 105.7), "vietnam": (8.4, 23.4, 102.1, 109.5), "cambodia": (10.4, 14.7, 102.3, 107.7),
    "laos": (13.9, 22.5, 100.0, 107.7), "myanmar": (9.6, 28.6, 92.2, 101.2), "malaysia": (0.8, 7.4, 99.6, 119.3),
    "singapore": (1.1, 1.5, 103.6, 104.1), "indonesia": (-11.0, 6.1, 95.0, 141.1),
    "philippines": (4.6, 21.1, 116.9, 126.6), "brunei": (4.0, 5.1, 114.0, 115.4),
    "timor-leste": (-9.5, -8.1, 124.0, 127.3),
    # Oceania
    "australia": (-44.0, -9.1, 112.9, 159.2), "new zealand": (-47.3, -34.4, 166.4, -176.0),
    "fiji": (-21.0, -12.4, 177.0, -178.2), "papua new guinea": (-11.7, -0.8, 140.8, 156.0),
    "french polynesia": (-27.7, -7.8, -154.7, -134.9), "new caledonia": (-22.7, -19.5, 163.5, 168.2),
    # Africa
    "morocco": (20.7, 36.0, -17.1, -1.0), "algeria": (18.9, 37.1, -8.7, 12.0), "tunisia": (30.2, 37.6, 7.5, 11.6),
    "libya": (19.5, 33.2, 9.3, 25.2), "egypt": (22.0, 31.7, 24.7, 36.9), "sudan": (8.7, 22.3, 21.8, 38.6),
    "ethiopia": (3.4, 14.9, 33.0, 48.0), "kenya": (-4.7, 5.0, 33.9, 41.9), "tanzania": (-11.8, -1.0, 29.3, 40.5),
    "uganda": (-1.5, 4.2, 29.5, 35.0), "rwanda": (-2.9, -1.0, 28.8, 30.9), "nigeria": (4.2, 13.9, 2.7, 14.7),
    "ghana": (4.7, 11.2, -3.3, 1.2), "senegal": (12.3, 16.7, -17.6, -11.3), "ivory coast": (4.3, 10.8, -8.6, -2.5),
    "cameroon": (1.6, 13.1, 8.4, 16.2), "south africa": (-34.9, -22.1, 16.4, 32.9),
    "namibia": (-29.0, -16.9, 11.7, 25.3), "botswana": (-26.9, -17.8, 19.9, 29.4),
    "zimbabwe": (-22.5, -15.6, 25.2, 33.1), "zambia": (-18.1, -8.2, 21.9, 33.7),
    "mozambique": (-26.9, -10.4, 30.2, 41.0), "madagascar": (-25.7, -11.9, 43.1, 50.5),
    "mauritius": (-20.6, -10.3, 56.5, 63.6), "seychelles": (-10.3, -3.7, 46.2, 56.3),
    "mali": (10.1, 25.0, -12.3, 4.3), "niger": (11.7, 23.5, 0.1, 16.0), "chad": (7.4, 23.5, 13.4, 24.0),
    "democratic republic of the congo": (-13.5, 5.4, 12.2, 31.3), "angola": (-18.1, -4.4, 11.6, 24.1),
    "somalia": (-1.7, 12.0, 40.9, 51.5), "cape verde": (14.8, 17.2, -25.4, -22.6),
}

ALIASES = {
    "usa": "united states", "us": "united states", "united states of america": "united states",
    "uk": "united kingdom", "great britain": "united kingdom", "england": "united kingdom",
    "scotland": "united kingdom", "wales": "united kingdom", "northern ireland": "united kingdom",
    "czech republic": "czechia", "holland": "netherlands", "türkiye": "turkey", "turkiye": "turkey",
    "uae": "united arab emirates", "viet nam": "vietnam", "korea": "south korea", "republic of korea": "south korea",
    "russian federation": "russia", "macau": "macao", "côte d'ivoire": "ivory coast", "cote d'ivoire": "ivory coast",
    "myanmar (burma)": "myanmar", "burma": "myanmar", "hong kong sar": "hong kong", "east timor": "timor-leste",
    "macedonia": "north macedonia", "vatican": "vatican city", "holy see": "vatican city", "cabo verde": "cape verde",
    "dr congo": "democratic republic of the congo", "congo (drc)": "democratic republic of the congo",
    "palestinian territories": "palestine",
}


def country_rows() -> list[tuple[str, float, float, float, float]]:
    """(name, south, north, west, east) for every known name, aliases included, as a small table to join on a
    country's name in lower case, single-spaced, without a leading "the"."""
    rows = [(key, *box) for key, box in BOXES.items()]
    rows += [(alias, *BOXES[key]) for alias, key in ALIASES.items()]
    return rows
