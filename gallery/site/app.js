// The zoo's gallery: each model page runs the model's published ONNX files in the browser with
// ONNX Runtime Web (vendor/ort, copied from the npm lockfile's onnxruntime-web). The page's
// data (data.json) is written by `zoo gallery`; the model's kind (its manifest's "runtime")
// picks what a visitor can do. Nothing is fetched from anywhere but this site.
"use strict";

const zoo = { ready: false, errors: [] };
window.zoo = zoo;

ort.env.wasm.wasmPaths = new URL("../vendor/ort/", document.baseURI).href; // relative paths resolve against ort's script
ort.env.wasm.numThreads = 1; // no cross-origin isolation on a plain static host

const $ = (id) => document.getElementById(id);

function rng(seed) { // mulberry32: a seeded generator the visitor can set
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normals(n, seed) { // Box-Muller on the seeded generator
  const next = rng(seed), out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(next(), 1e-12), v = next(), r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

class Model {
  constructor(manifest, folder) { this.manifest = manifest; this.folder = folder; this.sessions = {}; }
  static async load(folder) {
    const manifest = await (await fetch(`${folder}/onnx/manifest.json`)).json();
    return new Model(manifest, folder);
  }
  async session(sig) {
    if (!this.sessions[sig]) {
      const file = this.manifest.signatures[sig].files.float32;
      this.sessions[sig] = await ort.InferenceSession.create(`${this.folder}/${file}`, { executionProviders: ["wasm"] });
    }
    return this.sessions[sig];
  }
  // inputs: {name: [Float32Array | Int32Array, shape]}; returns {SavedModel output name: tensor}
  async run(sig, inputs) {
    const record = this.manifest.signatures[sig], feeds = {};
    for (const spec of record.inputs) {
      const [data, shape] = inputs[spec.name];
      feeds[spec.name] = new ort.Tensor(spec.dtype === "int32" ? "int32" : "float32", data, shape);
    }
    const got = await (await this.session(sig)).run(feeds), out = {};
    for (const [name, onnxName] of Object.entries(record.outputs)) out[name] = got[onnxName];
    return out;
  }
  size(sig, input = 0) { return this.manifest.signatures[sig].inputs[input].shape[1]; }
}

function draw(canvas, pixels, offset = 0, side = 28) { // grey pixels in [0, 1], scaled to the canvas
  const small = document.createElement("canvas");
  small.width = small.height = side;
  const ctx = small.getContext("2d"), img = ctx.createImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, pixels[offset + i])));
    img.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  const big = canvas.getContext("2d");
  big.imageSmoothingEnabled = false;
  big.drawImage(small, 0, 0, canvas.width, canvas.height);
}

function strip(parent, images, n, cls = "digit") { // n images (28x28 each) side by side
  parent.innerHTML = "";
  for (let i = 0; i < n; i++) {
    const c = document.createElement("canvas");
    c.width = c.height = 84;
    c.className = cls;
    draw(c, images, i * 784);
    parent.appendChild(c);
  }
}

function digitPicker(select, data, initial) {
  data.test_images.forEach((_, i) => {
    const o = document.createElement("option");
    o.value = i;
    o.textContent = `test digit ${i} (label ${data.test_labels[i]})`;
    select.appendChild(o);
  });
  select.value = initial;
}

const testImage = (data, i) => Float32Array.from(data.test_images[i], (v) => v / 255);

// --- classifiers: draw a digit, or pick a test image, and see the probabilities ------------------
async function classifierPage(model, data) {
  const pad = $("pad"), ctx = pad.getContext("2d"), bars = $("bars");
  let drawing = false;
  const clear = () => { ctx.fillStyle = "black"; ctx.fillRect(0, 0, pad.width, pad.height); };
  const pixels = () => { // the pad as 28x28 grey levels in [0, 1], as the zoo's images
    const small = document.createElement("canvas");
    small.width = small.height = 28;
    small.getContext("2d").drawImage(pad, 0, 0, 28, 28);
    const rgba = small.getContext("2d").getImageData(0, 0, 28, 28).data;
    return Float32Array.from({ length: 784 }, (_, i) => rgba[4 * i] / 255);
  };
  const classify = async (x) => {
    const out = await model.run("classify", { images: [x, [1, 28, 28, 1]] });
    const p = out.probabilities.data;
    bars.innerHTML = "";
    p.forEach((v, k) => {
      const row = document.createElement("div");
      row.className = "bar";
      row.innerHTML = `<span>${data.classes[k]}</span><i style="width:${(100 * v).toFixed(1)}%"></i><b>${(100 * v).toFixed(1)}%</b>`;
      bars.appendChild(row);
    });
    $("answer").textContent = `${data.classes[out.label.data[0]]}`;
    return Array.from(p);
  };
  const stroke = (e) => {
    const r = pad.getBoundingClientRect();
    ctx.fillStyle = "white";
    ctx.beginPath();
    ctx.arc(e.clientX - r.left, e.clientY - r.top, 11, 0, 2 * Math.PI);
    ctx.fill();
  };
  pad.addEventListener("pointerdown", (e) => { drawing = true; stroke(e); });
  pad.addEventListener("pointermove", (e) => { if (drawing) stroke(e); });
  pad.addEventListener("pointerup", () => { drawing = false; classify(pixels()); });
  $("clear").addEventListener("click", () => { clear(); bars.innerHTML = ""; });
  digitPicker($("pick"), data, 0);
  const showTest = () => { const x = testImage(data, +$("pick").value); draw(pad, x); return classify(x); };
  $("pick").addEventListener("change", showTest);
  clear();
  zoo.classify = (x) => classify(Float32Array.from(x));
  await showTest();
}

// --- autoencoders: a map of the codes, interpolation, arithmetic, prior samples --------------------
async function autoencoderPage(model, data) {
  const dim = model.size("decode"), map = data.map, vae = model.manifest.runtime !== "autoencoder";
  const decode = async (codes, n) => (await model.run("decode", { codes: [codes, [n, dim]] })).images.data;
  const encode = async (x, n) => {
    const out = await model.run("encode", { images: [x, [n, 28, 28, 1]] });
    return (vae ? out.mean : out.codes).data;
  };
  zoo.decode = async (code) => Array.from(await decode(Float32Array.from(code), 1));
  // the map: the codes of test digits projected on their two principal axes
  const canvas = $("map"), ctx = canvas.getContext("2d"), [lo, hi] = map.extent;
  const toPx = (v, k) => ((v - lo[k]) / (hi[k] - lo[k])) * (k ? canvas.height : canvas.width);
  const colours = ["#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c", "#fabebe"];
  const paint = (mark) => {
    ctx.fillStyle = "#111";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    map.points.forEach(([a, b], i) => {
      ctx.fillStyle = colours[map.labels[i]];
      ctx.fillRect(toPx(a, 0) - 1.5, toPx(b, 1) - 1.5, 3, 3);
    });
    if (mark) { ctx.strokeStyle = "white"; ctx.lineWidth = 2; ctx.strokeRect(mark[0] - 5, mark[1] - 5, 10, 10); }
  };
  const codeAt = (px, py) => { // mean + a * axis1 + b * axis2
    const a = lo[0] + (px / canvas.width) * (hi[0] - lo[0]), b = lo[1] + (py / canvas.height) * (hi[1] - lo[1]);
    return Float32Array.from(map.mean, (m, j) => m + a * map.axes[0][j] + b * map.axes[1][j]);
  };
  let dragging = false;
  const look = async (e) => {
    const r = canvas.getBoundingClientRect(), px = e.clientX - r.left, py = e.clientY - r.top;
    paint([px, py]);
    draw($("decoded"), await decode(codeAt(px, py), 1));
  };
  canvas.addEventListener("pointerdown", (e) => { dragging = true; look(e); });
  canvas.addEventListener("pointermove", (e) => { if (dragging) look(e); });
  window.addEventListener("pointerup", () => { dragging = false; });
  paint();
  draw($("decoded"), await decode(codeAt(canvas.width / 2, canvas.height / 2), 1));
  // interpolation and arithmetic between chosen test digits
  for (const [id, i] of [["from", 3], ["to", 2], ["a", 7], ["b", 1], ["c", 4]]) digitPicker($(id), data, i);
  const codesOf = async (ids) => encode(Float32Array.from(ids.flatMap((id) => Array.from(testImage(data, +$(id).value)))), ids.length);
  const interpolate = async () => {
    const z = await codesOf(["from", "to"]), steps = 8, codes = new Float32Array(steps * dim);
    for (let s = 0; s < steps; s++) for (let j = 0; j < dim; j++) codes[s * dim + j] = z[j] + (s / (steps - 1)) * (z[dim + j] - z[j]);
    strip($("walk"), await decode(codes, steps), steps);
  };
  const arithmetic = async () => {
    const z = await codesOf(["a", "b", "c"]);
    const code = Float32Array.from({ length: dim }, (_, j) => z[j] - z[dim + j] + z[2 * dim + j]);
    strip($("sum"), await decode(code, 1), 1);
  };
  ["from", "to"].forEach((id) => $(id).addEventListener("change", interpolate));
  ["a", "b", "c"].forEach((id) => $(id).addEventListener("change", arithmetic));
  // decoded N(0, I) codes from the visitor's seed: what a VAE's prior is for, and a plain AE lacks
  const prior = async () => {
    const codes = normals(8 * dim, +$("seed").value);
    strip($("prior"), await decode(codes, 8), 8);
    if (data.partner) {
      const other = await Model.load(`../${data.partner}`);
      strip($("partner"), (await other.run("decode", { codes: [codes, [8, dim]] })).images.data, 8);
    }
  };
  $("seed").addEventListener("change", prior);
  await Promise.all([interpolate(), arithmetic(), prior()]);
}

// --- board games: play against the network's policy head ------------------------------------------
async function boardPage(model, data) {
  const { rows, cols, connect, gravity } = data.game, board = $("board");
  let cells = new Int8Array(rows * cols), player = 1, over = false;
  const human = () => +$("side").value;
  const lines = [];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++)
    for (const [dr, dc] of [[0, 1], [1, 0], [1, 1], [1, -1]]) {
      const line = [];
      for (let k = 0; k < connect; k++) {
        const rr = r + k * dr, cc = c + k * dc;
        if (rr < 0 || rr >= rows || cc < 0 || cc >= cols) break;
        line.push(rr * cols + cc);
      }
      if (line.length === connect) lines.push(line);
    }
  const winner = () => {
    for (const l of lines) { const s = l.reduce((t, i) => t + cells[i], 0); if (Math.abs(s) === connect) return Math.sign(s); }
    return cells.every((v) => v !== 0) ? 0 : null;
  };
  const legal = () => Array.from({ length: gravity ? cols : rows * cols }, (_, a) => (gravity ? cells[a] === 0 : cells[a] === 0));
  const place = (a) => {
    let i = a;
    if (gravity) { let r = rows - 1; while (cells[r * cols + a] !== 0) r--; i = r * cols + a; }
    cells[i] = player;
    player = -player;
  };
  const encode = () => { // the mover's stones, then the opponent's (Game.encode)
    const x = new Float32Array(rows * cols * 2);
    for (let i = 0; i < rows * cols; i++) { x[2 * i] = cells[i] === player ? 1 : 0; x[2 * i + 1] = cells[i] === -player ? 1 : 0; }
    return x;
  };
  const networkMove = async () => { // the legal move the policy head likes best
    const out = await model.run("predict", { board: [encode(), [1, rows, cols, 2]] });
    const p = out.policy.data, ok = legal();
    let best = -1;
    for (let a = 0; a < ok.length; a++) if (ok[a] && (best < 0 || p[a] > p[best])) best = a;
    $("value").textContent = `the network's value for its side: ${out.value.data[0].toFixed(3)}`;
    return best;
  };
  const render = () => {
    board.innerHTML = "";
    board.style.gridTemplateColumns = `repeat(${cols}, 48px)`;
    cells.forEach((v, i) => {
      const b = document.createElement("button");
      b.className = "cell";
      b.textContent = v === 1 ? data.game.marks[0] : v === -1 ? data.game.marks[1] : "";
      b.addEventListener("click", () => humanMove(gravity ? i % cols : i));
      board.appendChild(b);
    });
    const w = winner();
    over = w !== null;
    $("status").textContent = w === null ? (player === human() ? "your move" : "the network is thinking")
      : w === 0 ? "a draw" : w === human() ? "you won" : "the network won";
  };
  const reply = async () => { if (!over && player !== human()) { place(await networkMove()); render(); } };
  const humanMove = async (a) => {
    if (over || player !== human() || !legal()[a]) return;
    place(a);
    render();
    await reply();
  };
  const restart = async () => { cells = new Int8Array(rows * cols); player = 1; over = false; render(); await reply(); };
  $("side").addEventListener("change", restart);
  $("restart").addEventListener("click", restart);
  zoo.playBoth = async () => { // the network against itself from the empty board: its moves
    cells = new Int8Array(rows * cols); player = 1; over = false;
    const moves = [];
    while (winner() === null) { const a = await networkMove(); moves.push(a); place(a); }
    render();
    return moves;
  };
  await restart();
}

// --- Snake: the trained agent plays live beside an untrained network -----------------------------
const DIRS = [[-1, 0], [0, 1], [1, 0], [0, -1]]; // up, right, down, left (zoo.envs.snake.DIRS)

class Snake { // zoo.envs.SnakeEnv with walls and relative actions; apples from a seeded generator
  constructor(size, seed) {
    this.size = size; this.rng = rng(seed);
    const mid = Math.floor(size / 2);
    this.heading = Math.floor(this.rng() * 4);
    const [dr, dc] = DIRS[this.heading];
    this.body = [0, 1, 2].map((k) => [mid - k * dr, mid - k * dc]);
    this.score = 0; this.steps = 0; this.idle = 0; this.over = false; this.apples = [];
    this.apple = this.placeApple();
  }
  placeApple() {
    const taken = new Set(this.body.map(([r, c]) => r * this.size + c)), free = [];
    for (let k = 0; k < this.size * this.size; k++) if (!taken.has(k)) free.push(k);
    if (!free.length) return null;
    const k = free[Math.floor(this.rng() * free.length)], cell = [Math.floor(k / this.size), k % this.size];
    this.apples.push(cell);
    return cell;
  }
  flood(blocked, r, c) { // the fraction of the board reachable from (r, c)
    const n = this.size;
    if (r < 0 || r >= n || c < 0 || c >= n || blocked[r * n + c]) return 0;
    const seen = new Uint8Array(n * n), stack = [[r, c]];
    seen[r * n + c] = 1;
    let count = 0;
    while (stack.length) {
      const [y, x] = stack.pop();
      count++;
      for (const [dy, dx] of DIRS) {
        const ny = y + dy, nx = x + dx;
        if (ny < 0 || ny >= n || nx < 0 || nx >= n || blocked[ny * n + nx] || seen[ny * n + nx]) continue;
        seen[ny * n + nx] = 1;
        stack.push([ny, nx]);
      }
    }
    return count / (n * n);
  }
  observation() { // the 16 features of zoo.envs.snake.features
    const n = this.size, [hr, hc] = this.body[0], out = new Float32Array(16), blocked = new Uint8Array(n * n);
    this.body.slice(0, -1).forEach(([r, c]) => { blocked[r * n + c] = 1; });
    [0, -1, 1].forEach((turn, i) => {
      const [dr, dc] = DIRS[(this.heading + turn + 4) % 4], r = hr + dr, c = hc + dc;
      out[i] = r < 0 || r >= n || c < 0 || c >= n ? 1 : blocked[r * n + c];
      out[11 + i] = this.flood(blocked, r, c);
    });
    out[3 + this.heading] = 1;
    const [ar, ac] = this.apple;
    out[7] = ar < hr; out[8] = ar > hr; out[9] = ac < hc; out[10] = ac > hc;
    out[14] = this.body.length / (n * n);
    out[15] = (Math.abs(ar - hr) + Math.abs(ac - hc)) / n;
    return out;
  }
  step(action) { // 0 straight, 1 left, 2 right
    this.heading = (this.heading + [0, -1, 1][action] + 4) % 4;
    const [dr, dc] = DIRS[this.heading], r = this.body[0][0] + dr, c = this.body[0][1] + dc;
    this.steps++; this.idle++;
    if (r < 0 || r >= this.size || c < 0 || c >= this.size) { this.over = true; return; }
    const eating = r === this.apple[0] && c === this.apple[1];
    const tail = eating ? null : this.body.pop();
    if (this.body.some(([y, x]) => y === r && x === c)) { if (tail) this.body.push(tail); this.over = true; return; }
    this.body.unshift([r, c]);
    if (eating) {
      this.score++; this.idle = 0;
      this.apple = this.placeApple();
      if (!this.apple) { this.apple = [r, c]; this.over = true; return; }
    }
    if (this.idle >= 4 * this.size * this.size) this.over = true;
  }
  draw(canvas) {
    const ctx = canvas.getContext("2d"), k = canvas.width / this.size;
    ctx.fillStyle = "rgb(20,20,30)"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "rgb(230,60,60)"; ctx.fillRect(this.apple[1] * k, this.apple[0] * k, k, k);
    this.body.forEach(([r, c], i) => { ctx.fillStyle = i ? "rgb(60,180,75)" : "rgb(170,255,120)"; ctx.fillRect(c * k, r * k, k, k); });
  }
}

async function agentPage(model, data) {
  const untrained = await Model.load("untrained"), size = data.board;
  const act = async (net, game) => (await net.run("act", { observations: [game.observation(), [1, 16]] })).action.data[0];
  let games = [], timer = null;
  const tick = async () => {
    for (const [net, game, canvas, label] of games) {
      if (!game.over) game.step(await act(net, game));
      game.draw(canvas);
      $(label).textContent = `${game.score} apples, ${game.steps} moves${game.over ? " (game over)" : ""}`;
    }
    if (games.every(([, g]) => g.over)) { clearInterval(timer); timer = null; }
  };
  const start = () => {
    const seed = +$("seed").value;
    games = [[model, new Snake(size, seed), $("trained"), "trained-score"], [untrained, new Snake(size, seed), $("untrained"), "untrained-score"]];
    if (timer) clearInterval(timer);
    let busy = false;
    timer = setInterval(async () => { if (!busy) { busy = true; await tick(); busy = false; } }, 1000 / +$("speed").value);
  };
  $("start").addEventListener("click", start);
  $("speed").addEventListener("change", () => timer && start());
  zoo.snakeGame = async (seed, maxSteps) => { // the trained agent's game from a seed: its moves and apples
    const game = new Snake(size, seed), moves = [], heading = game.heading;
    while (!game.over && moves.length < maxSteps) { const a = await act(model, game); moves.push(a); game.step(a); }
    return { heading, moves, apples: game.apples, score: game.score };
  };
  start();
}

// --- GANs: a grid from the visitor's seed; a conditional GAN draws the class asked for ----------------
async function ganPage(model, data) {
  const dim = model.size("generate"), conditional = model.manifest.runtime === "conditional_gan", n = 32;
  const generate = async (noise, labels, rows) => {
    const inputs = { noise: [noise, [rows, dim]] };
    if (conditional) inputs.label = [labels, [rows]];
    return (await model.run("generate", inputs)).images.data;
  };
  zoo.generate = async (noise, labels) => Array.from(await generate(Float32Array.from(noise),
    Int32Array.from(labels || []), noise.length / dim));
  if (conditional) {
    data.classes.forEach((name, k) => {
      const o = document.createElement("option");
      o.value = k; o.textContent = `${k}: ${name}`;
      $("label").appendChild(o);
    });
  }
  const grid = async () => {
    const labels = Int32Array.from({ length: n }, () => +($("label")?.value || 0));
    strip($("grid"), await generate(normals(n * dim, +$("seed").value), labels, n), n, "sample");
  };
  $("seed").addEventListener("change", grid);
  if (conditional) $("label").addEventListener("change", grid);
  await grid();
}

const PAGES = { classifier: classifierPage, autoencoder: autoencoderPage, vae: autoencoderPage, vaegan: autoencoderPage,
                policy_value: boardPage, q_agent: agentPage, gan: ganPage, conditional_gan: ganPage };

async function main() {
  const data = await (await fetch("data.json")).json();
  if (!data.live) { zoo.ready = true; return; }
  const model = await Model.load(".");
  await PAGES[model.manifest.runtime](model, data);
  $("live").classList.add("ready");
  zoo.ready = true;
}

main().catch((e) => { zoo.errors.push(String(e)); console.error(e); $("live") && ($("live").textContent = `could not run the model: ${e}`); });
