// The demo page's logic: sends the chosen image to POST /v1/detect with the
// slider thresholds, draws the boxes with labels and scores on the canvas,
// lists the detections and shows the latency. Re-runs when a slider moves.
"use strict";
const $ = (id) => document.getElementById(id);
const canvas = $("canvas");
const ctx = canvas.getContext("2d");
let file = null;
let bitmap = null;
let pending = null;

const palette = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45"];

async function loadModel() {
  const r = await fetch("/v1/model");
  const m = await r.json();
  $("model").textContent = `${m.name} (${m.variant}, ${m.input.width}x${m.input.height}, ` +
    `${m.labels.length} label${m.labels.length === 1 ? "" : "s"})`;
  $("score").value = m.thresholds.score;
  $("iou").value = m.thresholds.iou;
  showSliders();
}

function showSliders() {
  $("score-value").textContent = Number($("score").value).toFixed(2);
  $("iou-value").textContent = Number($("iou").value).toFixed(2);
}

function draw(result) {
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  ctx.drawImage(bitmap, 0, 0);
  const line = Math.max(2, Math.round(bitmap.width / 300));
  ctx.lineWidth = line;
  ctx.font = `${Math.max(12, line * 6)}px sans-serif`;
  ctx.textBaseline = "bottom";
  const labels = [];
  result.detections.forEach((d) => {
    if (!labels.includes(d.label)) labels.push(d.label);
    const color = palette[labels.indexOf(d.label) % palette.length];
    const [x1, y1, x2, y2] = d.bbox;
    ctx.strokeStyle = color;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const text = `${d.label} ${d.score.toFixed(2)}`;
    const w = ctx.measureText(text).width + 6;
    const h = parseInt(ctx.font, 10) + 4;
    const ty = y1 - h < 0 ? y1 + h : y1;
    ctx.fillStyle = color;
    ctx.fillRect(x1 - line / 2, ty - h, w, h);
    ctx.fillStyle = "#fff";
    ctx.fillText(text, x1 + 3, ty - 2);
  });
  canvas.dataset.boxes = String(result.detections.length);
}

function list(result) {
  const ol = $("detections");
  ol.replaceChildren(...result.detections.map((d) => {
    const li = document.createElement("li");
    li.className = "detection";
    li.dataset.label = d.label;
    li.textContent = `${d.label} ${d.score.toFixed(3)} [${d.bbox.map((v) => v.toFixed(0)).join(", ")}]`;
    return li;
  }));
}

async function detect() {
  if (!file) return;
  const params = new URLSearchParams({ score_thresh: $("score").value, iou_thresh: $("iou").value });
  const started = performance.now();
  $("status").textContent = "detecting…";
  $("status").className = "";
  const request = fetch(`/v1/detect?${params}`, {
    method: "POST",
    headers: { "Content-Type": file.type || "application/octet-stream" },
    body: file,
  });
  pending = request;
  const r = await request;
  const body = await r.json();
  if (pending !== request) return;  // a newer request superseded this one
  if (!r.ok) {
    $("status").textContent = `error ${body.status}: ${body.error}`;
    $("status").className = "error";
    return;
  }
  const roundTrip = performance.now() - started;
  draw(body);
  list(body);
  $("latency").textContent = `${body.latency_ms.toFixed(1)} ms on the server, ${roundTrip.toFixed(1)} ms round trip`;
  $("status").textContent = `${body.detections.length} detection${body.detections.length === 1 ? "" : "s"} ` +
    `in ${body.image.width}x${body.image.height}`;
  document.body.dataset.state = "done";
}

async function choose(f) {
  if (!f) return;
  file = f;
  document.body.dataset.state = "busy";
  try {
    bitmap = await createImageBitmap(f);
  } catch (e) {
    $("status").textContent = "the browser cannot display this file";
    $("status").className = "error";
    return;
  }
  await detect();
}

$("file").addEventListener("change", (e) => choose(e.target.files[0]));
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  choose(e.dataTransfer.files[0]);
});
for (const id of ["score", "iou"]) {
  $(id).addEventListener("input", showSliders);
  $(id).addEventListener("change", detect);
}
loadModel();
