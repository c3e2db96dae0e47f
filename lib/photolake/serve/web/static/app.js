// photolake web app: shared helpers. Plain JavaScript, no build step; every page talks to /api/v1 only.
"use strict";
const API = "/api/v1";

async function api(path, params) {
  const url = new URL(API + path, location.origin);
  for (const [k, v] of Object.entries(params || {})) if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, v);
  const response = await fetch(url);
  const body = await response.json().catch(() => ({error: response.statusText}));
  if (!response.ok) {
    const problems = (body.problems || []).map(p => `${p.parameter}: ${p.message}`).join("; ");
    throw new Error(`${body.error || response.status}${problems ? " (" + problems + ")" : ""}`);
  }
  return body;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "style") node.style.cssText = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function showError(where, error) {
  where.prepend(el("div", {class: "error", role: "alert"}, String(error.message || error)));
}

function thumb(photo, size) {
  const tint = `background:${photo.color || "#222"}`;
  if (!photo.images) return el("div", {class: "thumb noimage", style: tint}, "no image");
  return el("img", {class: "thumb", src: photo.images[size || "thumb"], loading: "lazy", style: tint,
                    alt: photo.description || photo.photo_id});
}

function card(photo, extra) {
  const place = [photo.city, photo.country].filter(Boolean).join(", ");
  return el("a", {class: "card", href: `/photos/${encodeURIComponent(photo.photo_id)}`, "data-id": photo.photo_id},
    thumb(photo), el("div", {class: "meta", title: photo.description || ""},
      photo.description || photo.photo_id), el("div", {class: "meta"},
      [photo.camera_make, place, photo.submitted_at && photo.submitted_at.slice(0, 10)].filter(Boolean).join(" · ")),
    extra ? el("div", {class: "why"}, extra) : null);
}

// The gallery's current result list, for prev/next on a photo page (the keys users expect: arrows, Esc).
function rememberList(ids, galleryUrl) {
  sessionStorage.setItem("photolake.list", JSON.stringify({ids, galleryUrl}));
}
function rememberedList() {
  try { return JSON.parse(sessionStorage.getItem("photolake.list")) || {ids: [], galleryUrl: "/"}; }
  catch (e) { return {ids: [], galleryUrl: "/"}; }
}

function header() {
  const q = new URLSearchParams(location.search).get("q") || "";
  return el("header", {},
    el("a", {class: "brand", href: "/"}, "photolake"),
    el("form", {action: "/", role: "search"},
      el("input", {type: "search", name: "q", id: "q", value: q, placeholder: "Search photos (press / )",
                   "aria-label": "search"})),
    el("nav", {}, el("a", {href: "/"}, "Gallery"), el("a", {href: "/map"}, "Map"), el("a", {href: "/users"}, "Users"),
       el("a", {href: "/docs"}, "API")));
}

document.addEventListener("keydown", event => {
  if (event.key === "/" && document.activeElement.tagName !== "INPUT") {
    event.preventDefault();
    document.getElementById("q")?.focus();
  }
});
