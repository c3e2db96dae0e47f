"""The report's charts: plain functions from small pandas frames (or images) to PNG bytes, no Spark.

Every chart has a title and labelled axes, a legend where colours carry meaning, and the same look.
"""

from __future__ import annotations

import io
from typing import Callable

import matplotlib

matplotlib.use("Agg")  # headless: executors and CI have no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from PIL import Image  # noqa: E402

FAMILY_COLOURS = {"black": "#111111", "white": "#f4f4f4", "gray": "#8c8c8c", "red": "#d62728", "orange": "#ff8c1a",
                  "brown": "#8b5a2b", "yellow": "#f2d024", "green": "#2ca02c", "cyan": "#17becf", "blue": "#1f5fd6",
                  "purple": "#8c3fbf", "pink": "#f06eb4"}
ACCENT = "#3b6ea8"


class OneValue(Exception):
    """The data has a single category (every image a JPEG): a sentence says it better than a chart."""


def needs_two(frame: pd.DataFrame, label: str, value: str, what: str) -> None:
    """OneValue unless ``frame`` has at least two categories to compare."""
    if len(frame) == 0:
        raise OneValue(f"no {what}")
    if len(frame) == 1:
        raise OneValue(f"all {frame[value].iloc[0]:,} {what} are {frame[label].iloc[0]}")


def _png(draw: Callable[[plt.Figure], None], size: tuple[float, float] = (7, 4)) -> bytes:
    figure = plt.figure(figsize=size, dpi=100)
    try:
        draw(figure)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(figure)


def bars(frame: pd.DataFrame, label: str, value: str, title: str, xlabel: str, ylabel: str,
         horizontal: bool = False, colours: list[str] | None = None) -> bytes:
    needs_two(frame, label, value, (xlabel if horizontal else ylabel))

    def draw(figure):
        axes = figure.add_subplot()
        labels, values = frame[label].astype(str).tolist(), frame[value].tolist()
        colour = colours or ACCENT
        if horizontal:
            axes.barh(labels[::-1], values[::-1], color=colour[::-1] if colours else colour, edgecolor="#333333")
        else:
            axes.bar(labels, values, color=colour, edgecolor="#333333")
            if len(labels) > 6:
                axes.tick_params(axis="x", labelrotation=45)
        axes.set_title(title)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.grid(axis="x" if horizontal else "y", alpha=0.3)
    return _png(draw, (7, max(3.5, 0.3 * len(frame) + 1.5)) if horizontal else (7, 4))


def grouped_bars(frame: pd.DataFrame, label: str, values: list[str], title: str, xlabel: str, ylabel: str) -> bytes:
    """One group of bars per row of ``frame`` (labelled by ``label``), one bar per column in ``values``."""
    def draw(figure):
        axes = figure.add_subplot()
        width = 0.8 / max(len(values), 1)
        positions = np.arange(len(frame))
        for n, column in enumerate(values):
            axes.bar(positions + (n - (len(values) - 1) / 2) * width, frame[column], width, label=column,
                     edgecolor="#333333")
        axes.set_xticks(positions, frame[label].astype(str).tolist())
        axes.set_title(title)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.legend(fontsize="small")
        axes.grid(axis="y", alpha=0.3)
    return _png(draw)


def pie(frame: pd.DataFrame, label: str, value: str, title: str, what: str) -> bytes:
    needs_two(frame, label, value, what)

    def draw(figure):
        axes = figure.add_subplot()
        wedges, _, _ = axes.pie(frame[value], autopct="%1.0f%%", startangle=90, pctdistance=0.75)
        axes.legend(wedges, frame[label], title=label.replace("_", " "), loc="center left", bbox_to_anchor=(1, 0.5))
        axes.set_title(title)
        axes.axis("equal")
    return _png(draw, (6, 4))


def heatmap(frame: pd.DataFrame, row: str, column: str, value: str, title: str, xlabel: str, ylabel: str) -> bytes:
    """``value`` for each (``row``, ``column``) as coloured cells with their counts written in; rows in the
    frame's order of first appearance, columns sorted."""
    table = frame.pivot_table(index=row, columns=column, values=value, aggfunc="sum", fill_value=0, sort=False)
    table = table[sorted(table.columns)]
    if table.shape[0] < 2 or table.shape[1] < 2:
        raise OneValue(f"too few {ylabel} or {xlabel} to compare")

    def draw(figure):
        axes = figure.add_subplot()
        cells = axes.imshow(table.values, cmap="Blues", aspect="auto")
        axes.set_xticks(range(table.shape[1]), [str(c) for c in table.columns],
                        rotation=45 if table.shape[1] > 8 else 0)
        axes.set_yticks(range(table.shape[0]), [str(r) for r in table.index])
        top = table.values.max() or 1
        if table.size <= 200:
            for (r, c), count in np.ndenumerate(table.values):
                axes.text(c, r, f"{count:,}", ha="center", va="center", fontsize=7,
                          color="white" if count > top / 2 else "#222222")
        figure.colorbar(cells, ax=axes, label=value)
        axes.set_title(title)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
    return _png(draw, (8, max(3.5, 0.35 * table.shape[0] + 1.8)))


def line(frame: pd.DataFrame, x: str, ys: list[str], title: str, xlabel: str, ylabel: str) -> bytes:
    def draw(figure):
        axes = figure.add_subplot()
        for column in ys:
            axes.plot(frame[x], frame[column], marker="o", markersize=3, label=column.replace("_", " "))
        axes.set_title(title)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.grid(alpha=0.3)
        axes.legend()
    return _png(draw, (8, 4))


def world_scatter(frame: pd.DataFrame, title: str) -> bytes:
    """Photo locations on a longitude/latitude plane with a graticule (no basemap needed offline)."""
    def draw(figure):
        axes = figure.add_subplot()
        axes.set_facecolor("#eef4fa")
        for lon in range(-180, 181, 30):
            axes.axvline(lon, color="white", linewidth=0.8)
        for lat in range(-90, 91, 30):
            axes.axhline(lat, color="white", linewidth=0.8)
        axes.axhline(0, color="#9bb7d4", linewidth=1, label="equator")
        axes.scatter(frame["longitude"], frame["latitude"], s=14, color="#d62728", alpha=0.7, edgecolor="none",
                     label=f"photos ({len(frame)})")
        axes.set_xlim(-180, 180)
        axes.set_ylim(-90, 90)
        axes.set_aspect("equal")
        axes.set_title(title)
        axes.set_xlabel("longitude (degrees)")
        axes.set_ylabel("latitude (degrees)")
        axes.legend(loc="lower left")
    return _png(draw, (9, 4.8))


def palette_strips(palettes: list[tuple[str, list[dict]]], title: str) -> bytes:
    """One horizontal strip per image: its dominant colours, each as wide as its share."""
    def draw(figure):
        axes = figure.add_subplot()
        for row, (name, colours) in enumerate(palettes):
            left = 0.0
            for colour in colours:
                axes.add_patch(Rectangle((left, row), colour["share"], 0.85, color=f"#{colour['hex']}"))
                left += colour["share"]
        axes.set_xlim(0, 1)
        axes.set_ylim(len(palettes), -0.15)
        axes.set_yticks([r + 0.42 for r in range(len(palettes))], [name for name, _ in palettes], fontsize=7)
        axes.set_title(title)
        axes.set_xlabel("share of the image's pixels")
        axes.set_ylabel("image")
    return _png(draw, (8, 0.32 * len(palettes) + 1.4))


def cluster_scatter(frame: pd.DataFrame, title: str) -> bytes:
    def draw(figure):
        axes = figure.add_subplot()
        cmap = plt.get_cmap("tab10")
        for cluster, members in frame.groupby("cluster"):
            axes.scatter(members["pca_x"], members["pca_y"], s=18, color=cmap(int(cluster) % 10), alpha=0.8,
                         label=f"cluster {cluster} ({len(members)})")
        axes.set_title(title)
        axes.set_xlabel("first principal component")
        axes.set_ylabel("second principal component")
        axes.legend(fontsize=8)
        axes.grid(alpha=0.3)
    return _png(draw, (7, 5))


def montage(rows: list[tuple[str, list[Image.Image]]], title: str, per_row: int = 6) -> bytes:
    """A grid of thumbnails, one row per group (cluster), labelled on the left."""
    def draw(figure):
        grid = figure.subplots(len(rows), per_row, squeeze=False)
        for r, (label, images) in enumerate(rows):
            for c in range(per_row):
                axes = grid[r][c]
                axes.set_xticks([])
                axes.set_yticks([])
                for spine in axes.spines.values():
                    spine.set_visible(False)
                if c < len(images):
                    axes.imshow(np.asarray(images[c]))
            grid[r][0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
        figure.suptitle(title)
    return _png(draw, (per_row * 1.4 + 1.5, len(rows) * 1.3 + 0.8))


def boxes(image: Image.Image, objects: list[dict], scale: float, title: str) -> bytes:
    """The image with each detected box and label drawn (``scale``: image pixels per original pixel)."""
    def draw(figure):
        axes = figure.add_subplot()
        axes.imshow(np.asarray(image))
        cmap = plt.get_cmap("tab10")
        for obj in objects:
            colour = cmap(obj["class_id"] % 10)
            axes.add_patch(Rectangle((obj["x"] * scale, obj["y"] * scale), obj["w"] * scale, obj["h"] * scale,
                                     fill=False, edgecolor=colour, linewidth=2))
            axes.text(obj["x"] * scale, obj["y"] * scale, f"{obj['label']} {obj['confidence']:.2f}", color="white",
                      fontsize=8, va="bottom", bbox={"facecolor": colour, "alpha": 0.8, "pad": 1, "edgecolor": "none"})
        axes.set_title(title)
        axes.set_xlabel("x (pixels)")
        axes.set_ylabel("y (pixels)")
    width, height = image.size
    return _png(draw, (7, 7 * height / max(width, 1) + 0.6))
