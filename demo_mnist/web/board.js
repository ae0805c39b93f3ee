// MNIST drawing board: draw with mouse, pen or touch; every finished stroke is sent to every
// model listed by /api/models, and each model's panel shows its digit, probabilities and the
// round-trip time. No external assets: works with no network but this page's server.
"use strict";

const canvas = document.getElementById("board");
const context = canvas.getContext("2d");
const modelsSection = document.getElementById("models");
const widthInput = document.getElementById("width");
let drawing = false;
let dirty = false;
let sequence = 0;

function resetCanvas() {
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  dirty = false;
}

function point(event) {
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height];
}

canvas.addEventListener("pointerdown", (event) => {
  drawing = true;
  canvas.setPointerCapture(event.pointerId);
  const [x, y] = point(event);
  context.strokeStyle = "#000000";
  context.lineWidth = Number(widthInput.value);
  context.lineCap = "round";
  context.lineJoin = "round";
  context.beginPath();
  context.moveTo(x, y);
  context.lineTo(x + 0.01, y);
  context.stroke();
  dirty = true;
});

canvas.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const [x, y] = point(event);
  context.lineTo(x, y);
  context.stroke();
});

function endStroke() {
  if (!drawing) return;
  drawing = false;
  predictAll();
}
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);

document.getElementById("clear").addEventListener("click", () => {
  resetCanvas();
  for (const panel of modelsSection.querySelectorAll(".panel")) showResult(panel, null);
});

const PROTOCOLS = {v2: "Open Inference Protocol (MLServer)", seldon: "Seldon protocol (seldon-core)"};

function panelFor(model, protocol) {
  const panel = document.getElementById("panel").content.firstElementChild.cloneNode(true);
  panel.dataset.model = model;
  panel.dataset.protocol = protocol;
  panel.querySelector(".name").textContent = model;
  panel.querySelector("[data-role=protocol]").textContent = PROTOCOLS[protocol] || protocol;
  const bars = panel.querySelector(".bars");
  for (let digit = 0; digit < 10; digit++) {
    const row = document.createElement("li");
    row.innerHTML = `<span>${digit}</span><span class="bar"><span class="fill" style="width:0%"></span></span><span class="p">0.000</span>`;
    bars.appendChild(row);
  }
  return panel;
}

function showResult(panel, result) {
  const digit = panel.querySelector("[data-role=prediction]");
  const error = panel.querySelector("[data-role=error]");
  const latency = panel.querySelector("[data-role=latency]");
  const rows = panel.querySelectorAll(".bars li");
  if (result === null || result.error) {
    digit.textContent = "–";
    latency.textContent = "";
    rows.forEach((row) => { row.classList.remove("top"); row.querySelector(".fill").style.width = "0%"; row.querySelector(".p").textContent = "0.000"; });
  }
  panel.classList.toggle("down", Boolean(result && result.error));
  error.hidden = !(result && result.error);
  error.textContent = result && result.error ? result.error : "";
  if (!result || result.error) return;
  digit.textContent = String(result.digit);
  latency.textContent = `${result.roundTrip.toFixed(1)} ms`;
  result.probabilities.forEach((p, index) => {
    rows[index].classList.toggle("top", index === result.digit);
    rows[index].querySelector(".fill").style.width = `${(p * 100).toFixed(1)}%`;
    rows[index].querySelector(".p").textContent = p.toFixed(3);
  });
}

async function predictOne(panel, image) {
  const started = performance.now();
  try {
    const reply = await fetch(`/api/predict/${encodeURIComponent(panel.dataset.model)}`, {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({image}),
    });
    const body = await reply.json();
    body.roundTrip = performance.now() - started;
    return reply.ok ? body : {error: body.error || `HTTP ${reply.status}`};
  } catch (failure) {
    return {error: `board server unreachable: ${failure}`};
  }
}

async function predictAll() {
  if (!dirty) return;
  const mine = ++sequence;
  modelsSection.dataset.state = "busy";
  const image = canvas.toDataURL("image/png");
  const panels = [...modelsSection.querySelectorAll(".panel")];
  const results = await Promise.all(panels.map((panel) => predictOne(panel, image)));
  if (mine !== sequence) return; // a newer stroke's answers win
  panels.forEach((panel, index) => showResult(panel, results[index]));
  modelsSection.dataset.completed = String(mine);
  modelsSection.dataset.state = "idle";
}

async function start() {
  resetCanvas();
  const reply = await fetch("/api/models");
  const {models, protocols} = await reply.json();
  for (const model of models) modelsSection.appendChild(panelFor(model, protocols[model]));
  modelsSection.dataset.ready = "true";
}

start();
