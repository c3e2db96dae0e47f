"""Words and values the sample release draws from: realistic, multilingual, and with the real quirks."""

from __future__ import annotations

import numpy as np

# Head of the keyword distribution: a handful cover most photos, as in the real dataset.
COMMON_KEYWORDS = [
    "nature", "wallpaper", "sky", "outdoors", "landscape", "background", "tree", "plant", "water", "sea",
    "mountain", "blue", "grey", "light", "person", "human", "city", "building", "architecture", "urban",
    "sunset", "beach", "ocean", "forest", "snow", "cloud", "flower", "animal", "dog", "cat", "bird",
    "car", "road", "street", "night", "food", "coffee", "people", "woman", "man", "portrait", "travel",
    "summer", "winter", "autumn", "spring", "green", "red", "yellow", "pink", "black", "white", "texture",
    "abstract", "minimal", "rock", "desert", "lake", "river", "field", "grass", "leaf", "bridge", "tower",
    "window", "wall", "art", "fashion", "sport", "bicycle", "boat", "train", "airplane", "horse", "bear",
    "kite", "umbrella", "laptop", "phone", "book", "chair", "table", "cup", "bottle", "fruit", "bread",
]
# Multilingual, emoji and the 1.0.0 keyword with a newline inside its quotes.
QUIRKY_KEYWORDS = [
    "東京", "富士山", "さくら", "夜景", "北京", "서울", "풍경", "🌊", "🌅 sunset", "☕️", "❤", "café", "São Paulo",
    "Zürich", "fujisan\nmount fuji", "rock'n'roll", 'the "best" view', "tab\tinside",
]

COLOR_NAMES = {  # CSS colour names the colors table's keyword uses, with their RGB
    "black": (0, 0, 0), "dimgray": (105, 105, 105), "gray": (128, 128, 128), "darkgray": (169, 169, 169),
    "silver": (192, 192, 192), "lightgray": (211, 211, 211), "gainsboro": (220, 220, 220), "white": (255, 255, 255),
    "whitesmoke": (245, 245, 245), "snow": (255, 250, 250), "maroon": (128, 0, 0), "darkred": (139, 0, 0),
    "brown": (165, 42, 42), "firebrick": (178, 34, 34), "crimson": (220, 20, 60), "red": (255, 0, 0),
    "tomato": (255, 99, 71), "coral": (255, 127, 80), "salmon": (250, 128, 114), "orange": (255, 165, 0),
    "darkorange": (255, 140, 0), "gold": (255, 215, 0), "khaki": (240, 230, 140), "yellow": (255, 255, 0),
    "olive": (128, 128, 0), "olivedrab": (107, 142, 35), "yellowgreen": (154, 205, 50), "green": (0, 128, 0),
    "darkgreen": (0, 100, 0), "forestgreen": (34, 139, 34), "seagreen": (46, 139, 87), "lightgreen": (144, 238, 144),
    "teal": (0, 128, 128), "darkcyan": (0, 139, 139), "turquoise": (64, 224, 208), "skyblue": (135, 206, 235),
    "lightblue": (173, 216, 230), "steelblue": (70, 130, 180), "royalblue": (65, 105, 225), "blue": (0, 0, 255),
    "navy": (0, 0, 128), "midnightblue": (25, 25, 112), "darkslateblue": (72, 61, 139), "purple": (128, 0, 128),
    "indigo": (75, 0, 130), "plum": (221, 160, 221), "orchid": (218, 112, 214), "pink": (255, 192, 203),
    "hotpink": (255, 105, 180), "beige": (245, 245, 220), "wheat": (245, 222, 179), "tan": (210, 180, 140),
    "chocolate": (210, 105, 30), "sienna": (160, 82, 45), "saddlebrown": (139, 69, 19), "darkslategray": (47, 79, 79),
}

# (make as cameras write it, model as written, focal lengths the lens covers)
CAMERAS = [
    ("NIKON CORPORATION", "NIKON D750", (24, 120)), ("Nikon", "D5300", (18, 55)),
    ("Canon", "Canon EOS 5D Mark III", (24, 105)), ("Canon", "Canon EOS 80D", (18, 135)),
    ("SONY", "ILCE-7M3", (28, 70)), ("Sony", "ILCE-6000", (16, 50)),
    ("FUJIFILM", "X-T3", (18, 55)), ("OLYMPUS IMAGING CORP.", "E-M10", (14, 42)),
    ("OLYMPUS CORPORATION", "E-M1MarkII", (12, 40)), ("Apple", "iPhone X", (4, 6)),
    ("Apple", "iPhone 12 Pro", (4, 6)), ("samsung", "SM-G960F", (4, 5)),
    ("Panasonic", "DMC-GH4", (12, 35)), ("LEICA CAMERA AG", "LEICA Q (Typ 116)", (28, 28)),
    ("DJI", "FC2103", (4, 5)), ("Google", "Pixel 4", (4, 5)), ("Canon", "Canon EOS R5", (24, 70)),
    ("RICOH IMAGING COMPANY, LTD.", "PENTAX K-1", (28, 105)), ("Hasselblad", "L1D-20c", (10, 11)),
    ("GoPro", "HERO7 Black", (3, 3)),
]
APERTURES = [1.4, 1.8, 2.0, 2.8, 3.5, 4.0, 5.6, 7.1, 8.0, 11.0, 16.0, 22.0]
EXPOSURES = [(1, 8000), (1, 4000), (1, 1000), (1, 500), (1, 250), (1, 200), (1, 125), (1, 60), (1, 30),
             (1, 8), (1, 2), (1, 1), (15, 1), (30, 1)]
ISOS = [50, 64, 100, 125, 200, 400, 800, 1600, 3200, 6400]

PLACES = [  # (name, city, country, latitude, longitude)
    ("London, United Kingdom", "London", "United Kingdom", 51.5074, -0.1278),
    ("Paris, France", "Paris", "France", 48.8566, 2.3522),
    ("New York, United States", "New York", "United States", 40.7128, -74.006),
    ("Tokyo, Japan", "東京", "Japan", 35.6762, 139.6503),
    ("Mount Fuji, Japan", None, "Japan", 35.3606, 138.7274),
    ("Sydney, Australia", "Sydney", "Australia", -33.8688, 151.2093),
    ("Reykjavík, Iceland", "Reykjavík", "Iceland", 64.1466, -21.9426),
    ("Cape Town, South Africa", "Cape Town", "South Africa", -33.9249, 18.4241),
    ("Rio de Janeiro, Brazil", "Rio de Janeiro", "Brazil", -22.9068, -43.1729),
    ("Seoul, South Korea", "서울", "South Korea", 37.5665, 126.978),
    ("Banff, Canada", "Banff", "Canada", 51.1784, -115.5708),
    ("Marrakesh, Morocco", "Marrakesh", "Morocco", 31.6295, -7.9811),
    ("Yosemite Valley, United States", None, "United States", 37.7456, -119.5936),
    ("Santorini, Greece", "Santorini", "Greece", 36.3932, 25.4615),
    ("Berlin, Germany", "Berlin", "Germany", 52.52, 13.405),
]
COUNTRIES = ["US", "GB", "DE", "FR", "JP", "BR", "IN", "CA", "AU", "ES", "IT", "NL", "KR", "CN", "MX", "SE"]
FIRST_NAMES = ["Anna", "Ben", "Chloé", "David", "Emma", "Felix", "Grace", "Hiro", "Isabel", "Jonas", "Kai",
               "Lena", "Mateo", "Noor", "Olga", "Pierre", "Quinn", "Rosa", "Sven", "Tomás", "Yuki", "Zoë", "明"]
LAST_NAMES = ["Smith", "Müller", "García", "Rossi", "Dubois", "Kowalski", "Nakamura", "Silva", "Kim", "Nguyen",
              "O'Brien", "van der Berg", "Ivanova", "李", "Andersson"]
DESCRIPTIONS = [
    "A quiet morning by the lake", "Mountains at dusk", "富士山と桜 🌸", "City lights at night 🌃",
    "Coffee and a good book ☕️📚", 'The "perfect" wave', "Line one\nline two", "tab\tseparated words",
    "Golden hour in the desert", "서울의 밤", "Street life", "Minimal architecture",
    "BUY FOLLOWERS NOW!!! www.example.com 💰💰💰",
]
COLLECTION_TITLES = ["Nature", "Wallpapers", "Travel", "Architecture", "Blue", "東京", "Moody 🌧", "Food & Drink",
                     "People", "Animals", "Minimal", "Textures", 'The "Best" of 2020', "Summer\nvibes"]
AI_DESCRIPTIONS = ["a view of a mountain range", "a city street at night", "a person standing on a beach",
                   "a close up of a flower", "a dog sitting on the grass", "a bowl of food on a table",
                   "a building with a clock tower", "a boat on a body of water"]
LANDMARKS = [("Eiffel Tower", 48.8584, 2.2945), ("Mount Fuji", 35.3606, 138.7274),
             ("Golden Gate Bridge", 37.8199, -122.4783), ("Big Ben", 51.5007, -0.1246)]
BLURHASH_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def keyword_vocabulary(size: int = 3000) -> tuple[list[str], np.ndarray]:
    """Keywords and their Zipf-like weights: common words first, quirky ones mid-tail, generated tail."""
    words = COMMON_KEYWORDS[:]
    tail_start = len(words)
    words += QUIRKY_KEYWORDS
    words += [f"{COMMON_KEYWORDS[i % len(COMMON_KEYWORDS)]} {i}" for i in range(size - len(words))]
    ranks = np.arange(1, len(words) + 1, dtype=float)
    weights = 1.0 / ranks ** 0.9
    weights[tail_start:tail_start + len(QUIRKY_KEYWORDS)] = weights[tail_start]  # quirky ones show up often
    return words, weights / weights.sum()


def nearest_color_name(rgb: tuple[int, int, int]) -> str:
    r, g, b = rgb
    return min(COLOR_NAMES, key=lambda n: (COLOR_NAMES[n][0] - r) ** 2 + (COLOR_NAMES[n][1] - g) ** 2
               + (COLOR_NAMES[n][2] - b) ** 2)
