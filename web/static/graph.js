// Shared Cytoscape helpers: node size by role and evidence, edge width by amount, the fcose layout
// that fills the canvas, labels kept at a readable size on screen, the legend and the info panel.
// Each page's Cytoscape instance is kept in window.shabakaGraphs[<container id>] (see register) so
// end-to-end tests can read node positions and counts; nothing in the pages reads it back.
"use strict";
window.shabakaGraphs = window.shabakaGraphs || {};
window.Shabaka = (function () {
  const TYPES = {PROVIDER: "#1f5fa8", DOCTOR: "#2a9d8f", BENEFICIARY: "#e9a23b", INTERMEDIARY: "#c0392b",
                 PHONE: "#8e44ad", ACCOUNT: "#6d4c41", SUBMISSION_POINT: "#607d8b", REFERRER: "#d35400"};
  const fmt = new Intl.NumberFormat("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
  // Label sizes in screen pixels: hubs keep theirs at every zoom; patients' labels are drawn at
  // PATIENT_FONT graph units and hidden once zooming out shrinks them below MIN_FONT on screen.
  const HUB_FONT = 13, PATIENT_FONT = 11, MIN_FONT = 9;
  // Node diameter (screen px at zoom 1): [base, extra for the strongest evidence of its role].
  const SIZES = {hub: [34, 26], link: [22, 14], patient: [11, 9]};

  function mad(x) { return fmt.format(Number(x || 0)) + " MAD"; }

  // Who organises a ring: intermediaries, referrers and any member whose role names recruiting
  // (a "recruiter_phone", not a "recruited_patient").
  function isRecruiter(d) {
    return d.type === "INTERMEDIARY" || d.type === "REFERRER" || /recruiter|intermediar|broker|organi[sz]er/i.test(d.role || "");
  }

  // hub: recruiters, providers and doctors; link: the phones, accounts and submission points patients
  // share; patient: beneficiaries.
  function tier(d) {
    if (d.type === "BENEFICIARY" && !isRecruiter(d)) return "patient";
    if (isRecruiter(d) || d.type === "PROVIDER" || d.type === "DOCTOR") return "hub";
    return "link";
  }

  // The band a node is placed in, left to right: who recruits, who is recruited, who bills.
  function band(d) {
    if (d.type === "PROVIDER" || d.type === "DOCTOR") return 2;
    return tier(d) === "patient" ? 1 : 0;
  }

  // Sets size, width and tier on element data before Cytoscape reads them (no style mapping ever
  // sees a missing field). Size: the role's base plus, within the role, the node's member score
  // (its evidence) and amount claimed, each on a square-root scale; width: the edge's amount.
  function prepare(elements) {
    const nodes = elements.filter(e => e.group === "nodes" || !e.data.source);
    const edges = elements.filter(e => e.group === "edges" || e.data.source);
    const top = {};
    nodes.forEach(n => {
      const t = n.data.tier = tier(n.data);
      const m = top[t] || (top[t] = {score: 0, amount: 0});
      m.score = Math.max(m.score, Math.max(0, Number(n.data.score) || 0));
      m.amount = Math.max(m.amount, Number(n.data.amount) || 0);
    });
    nodes.forEach(n => {
      const d = n.data, m = top[d.tier], [base, extra] = SIZES[d.tier];
      // Member scores can be negative (a weaker-than-typical member): no evidence, the base size.
      const score = m.score > 0 ? Math.sqrt(Math.max(0, Number(d.score) || 0) / m.score) : 0;
      const amount = m.amount > 0 ? Math.sqrt(Math.max(0, Number(d.amount) || 0) / m.amount) : 0;
      d.size = Math.round(base + extra * (m.score > 0 ? 0.6 * score + 0.4 * amount : amount));
      // The entity a neighbourhood starts from is what its page is about: never a small dot.
      if (d.root) d.size = Math.max(d.size, SIZES.hub[0]);
      d.colour = d.colour || TYPES[d.type] || "#999";
    });
    const etop = Math.max(1, ...edges.map(e => Number(e.data.amount) || 0));
    edges.forEach(e => {
      const a = Number(e.data.amount) || 0;
      e.data.width = a > 0 ? 1.5 + 8.5 * Math.sqrt(a / etop) : 1;
      e.data.money = a > 0 ? 1 : 0;
    });
    return elements;
  }

  function style() {
    const hubFont = n => HUB_FONT / n.cy().zoom();
    return [
      {selector: "node", style: {
        "background-color": "data(colour)", "label": "data(label)", "color": "#1d2733",
        "width": "data(size)", "height": "data(size)", "border-width": 1, "border-color": "#fff",
        "text-valign": "bottom", "text-halign": "center", "text-margin-y": 3,
        "text-background-color": "#ffffff", "text-background-opacity": 0.85, "text-background-padding": 1,
        "text-background-shape": "round-rectangle", "text-wrap": "ellipsis", "text-max-width": 170,
        "font-size": PATIENT_FONT, "min-zoomed-font-size": MIN_FONT}},
      {selector: "node[tier = 'hub'], node[tier = 'link'], node.root", style: {
        "font-size": hubFont, "font-weight": n => n.data("tier") === "hub" ? 600 : 400,
        "text-margin-y": n => 4 / n.cy().zoom(), "text-max-width": n => 190 / n.cy().zoom(),
        "text-background-padding": n => 2 / n.cy().zoom(), "min-zoomed-font-size": 0}},
      {selector: "node[type = 'PROVIDER'], node[type = 'DOCTOR']", style: {"shape": "round-rectangle"}},
      {selector: "node[type = 'INTERMEDIARY'], node[type = 'REFERRER']", style: {"shape": "diamond"}},
      {selector: "node[type = 'PHONE'], node[type = 'ACCOUNT'], node[type = 'SUBMISSION_POINT']", style: {"shape": "hexagon"}},
      {selector: "node.label-top", style: {"text-valign": "top", "text-margin-y": n => -4 / n.cy().zoom()}},
      {selector: "node.label-right", style: {"text-valign": "center", "text-halign": "right", "text-margin-y": 0,
                                             "text-margin-x": n => 4 / n.cy().zoom()}},
      {selector: "node.label-left", style: {"text-valign": "center", "text-halign": "left", "text-margin-y": 0,
                                            "text-margin-x": n => -4 / n.cy().zoom()}},
      {selector: "node.quiet", style: {"label": ""}},
      {selector: "node.quiet:selected", style: {"label": "data(label)", "z-index": 10}},
      {selector: "node:selected", style: {"border-width": 3, "border-color": "#14365c"}},
      {selector: "node.root", style: {"border-width": 3, "border-color": "#c0392b"}},
      {selector: "node.expanded", style: {"border-style": "double", "border-width": 4, "border-color": "#14365c"}},
      {selector: "node.root.expanded", style: {"border-color": "#c0392b"}},
      {selector: "edge", style: {"width": "data(width)", "line-color": "#9fb0c0", "curve-style": "bezier", "opacity": 0.6}},
      {selector: "edge[money = 0]", style: {"line-style": "dashed", "line-color": "#b9a3c9"}},
      {selector: "edge:selected", style: {"line-color": "#14365c", "opacity": 1}},
    ];
  }

  // Hub labels are sized in screen pixels (font size divided by the zoom): re-read them after a zoom.
  function readableLabels(cy) {
    let queued = false;
    cy.on("zoom", () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        cy.nodes("[tier = 'hub'], [tier = 'link'], .root").updateStyle();
        declutter(cy);
      });
    });
    cy.on("dragfree", "node", () => declutter(cy));
  }

  // On a crowded drawing labels still meet. Each node in turn (the entity a neighbourhood starts
  // from, then hubs, the larger first, then links, then patients) puts its label under, over, right
  // or left of itself, the first place inside the canvas that covers no label placed before it and
  // no other hub or link; with none free the label is left out at this zoom: zooming in brings it back, and a
  // selected node always shows its own.
  const PLACES = ["", "label-top", "label-right", "label-left"];
  function declutter(cy) {
    const z = cy.zoom(), w = cy.width(), h = cy.height();
    const rank = n => (n.hasClass("root") ? 0 : {hub: 1, link: 2}[n.data("tier")] || 3) * 1000 - (n.data("size") || 0);
    const nodes = cy.nodes().toArray().sort((a, b) => rank(a) - rank(b) || (a.id() < b.id() ? -1 : 1));
    cy.batch(() => cy.nodes().removeClass(["quiet", ...PLACES.filter(Boolean)].join(" ")));
    const meets = (r, k) => r[0] < k[2] && k[0] < r[2] && r[1] < k[3] && k[1] < r[3];
    const bodies = new Map(nodes.filter(n => n.data("tier") !== "patient").map(n => {
      const b = n.renderedBoundingBox({includeLabels: false});
      return [n.id(), [b.x1, b.y1, b.x2, b.y2]];
    }));
    const kept = [], placed = [];
    nodes.forEach(n => {
      // A patient's label smaller than MIN_FONT on screen is not drawn anyway.
      if (n.data("tier") === "patient" && !n.hasClass("root") && PATIENT_FONT * z < MIN_FONT) return;
      const b = n.renderedBoundingBox({includeNodes: false, includeEdges: false, includeLabels: true});
      if (!(b.w > 0)) return;
      const p = n.renderedPosition(), half = (n.data("size") || 12) * z / 2, gap = b.y1 - (p.y + half);
      const boxes = [[b.x1, b.y1, b.x2, b.y2], [b.x1, p.y - half - gap - b.h, b.x2, p.y - half - gap],
                     [p.x + half + gap, p.y - b.h / 2, p.x + half + gap + b.w, p.y + b.h / 2],
                     [p.x - half - gap - b.w, p.y - b.h / 2, p.x - half - gap, p.y + b.h / 2]];
      const free = r => r[0] >= 0 && r[2] <= w && r[1] >= 0 && r[3] <= h && !kept.some(k => meets(r, k)) &&
        ![...bodies].some(([id, k]) => id !== n.id() && meets(r, k));
      const at = boxes.findIndex(free);
      if (at < 0) { placed.push([n, "quiet"]); return; }
      kept.push(boxes[at]);
      if (at > 0) placed.push([n, PLACES[at]]);
    });
    cy.batch(() => placed.forEach(([n, cls]) => n.addClass(cls)));
  }

  // fcose draws from Math.random; a seeded generator for the length of one (synchronous) layout run
  // gives the same picture for the same data on every load.
  function seeded(run) {
    const saved = Math.random;
    let s = 20240917;
    Math.random = () => { s = (s + 0x6D2B79F5) | 0; let t = Math.imul(s ^ (s >>> 15), 1 | s);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
    try { run(); } finally { Math.random = saved; }
  }

  // Recruiters left, patients in the middle, providers and doctors right. fcose keeps every
  // recruiter left of every provider and doctor (relative-placement constraints between the few
  // hubs; skipped past 40 of them); the patients are then moved between the two (see bands).
  function bandConstraints(cy, gap) {
    const by = bandsOf(cy);
    const pairs = [];
    if (by[0].length + by[2].length > 40) return pairs;
    by[0].forEach(l => by[2].forEach(r => pairs.push({left: l.id(), right: r.id(), gap: 2 * gap})));
    return pairs;
  }

  function bandsOf(cy) {
    const by = [[], [], []];
    cy.nodes().forEach(n => by[band(n.data())].push(n));
    return by;
  }

  // Patients between the bands: their x positions, in fcose's order, spread linearly over the
  // room between the rightmost recruiter and the leftmost provider (or kept clear of the one band
  // a ring has). Pairwise constraints for every patient cost fcose seconds on a large ring.
  function bands(cy, gap) {
    const [left, mid, right] = bandsOf(cy);
    if (!mid.length || (!left.length && !right.length)) return;
    const xs = mid.map(n => n.position("x"));
    const pmin = Math.min(...xs), pmax = Math.max(...xs), span = Math.max(pmax - pmin, 1);
    const lo = left.length ? Math.max(...left.map(n => n.position("x"))) + gap : null;
    const hi = right.length ? Math.min(...right.map(n => n.position("x"))) - gap : null;
    let a, b;
    if (lo !== null && hi !== null) {
      // Too little room between the bands: move the billing band right to make it.
      const need = Math.max(span, 2 * gap);
      if (hi - lo < need) right.forEach(n => n.position("x", n.position("x") + need - (hi - lo)));
      a = lo; b = Math.max(hi, lo + need);
    } else if (lo !== null) { a = Math.max(lo, pmin); b = a + span; }
    else { b = Math.min(hi, pmax); a = b - span; }
    cy.batch(() => mid.forEach((n, i) => n.position("x", a + (b - a) * (pmax > pmin ? (xs[i] - pmin) / span : 0.5))));
  }

  // Lay the graph out, then stretch the drawing to the container's shape and scale it to fill it
  // at zoom 1 (zooming out only when it does not fit), so node sizes and hub labels are what the
  // style says, in screen pixels. ``incremental``: start from the current positions (entity page).
  function layout(cy, incremental) {
    const w = cy.width(), h = cy.height(), pad = 36;
    // fcose's force phase costs about n² per step: past 150 nodes only its spectral draft is kept
    // (then the overlap pass below), so a big ring still draws in well under a second.
    const big = cy.nodes().length > 150;
    const opts = {name: "fcose", animate: false, fit: false, randomize: big || !incremental,
                  quality: big ? "draft" : incremental ? "proof" : "default", numIter: 1000,
                  nodeDimensionsIncludeLabels: true, packComponents: true, nodeSeparation: 60,
                  idealEdgeLength: e => (e.source().data("tier") === "patient" || e.target().data("tier") === "patient") ? 70 : 110,
                  nodeRepulsion: n => n.data("tier") === "patient" ? 4500 : 30000,
                  edgeElasticity: () => 0.35, gravity: 0.3};
    if (!incremental) {
      const rel = bandConstraints(cy, 80);
      if (rel.length) opts.relativePlacementConstraint = rel;
    }
    seeded(() => cy.layout(opts).run());
    if (!incremental) bands(cy, 80);
    separate(cy, 1);
    fill(cy, w, h, pad);
    // Zoomed out to fit: hub labels, constant on screen, are now larger than the first pass
    // assumed; separate once more at this zoom and fit again. (Not more: on a ring with dozens of
    // hubs each pass makes the drawing taller and the next fit smaller, without end.) Labels that
    // still meet are moved beside their node, or left out at this zoom (declutter).
    if (cy.zoom() < 0.95) {
      const z = cy.zoom();
      separate(cy, z);
      cy.fit(cy.elements(), pad);
      if (cy.zoom() > 1) { cy.zoom(1); cy.center(); }
    }
    cy.nodes("[tier = 'hub'], [tier = 'link'], .root").updateStyle();
    declutter(cy);
  }

  // The box a node needs at zoom ``z``: its shape with its label under it. Hub labels keep their
  // size on screen (so grow in graph units as z falls); patients' labels vanish below MIN_FONT.
  function box(n, z) {
    const d = n.data(), p = n.position(), size = d.size || 12;
    const patient = d.tier === "patient" && !n.hasClass("root");
    const font = patient ? (PATIENT_FONT * z >= MIN_FONT ? PATIENT_FONT : 0) : HUB_FONT / z;
    const text = font ? Math.min(String(d.label || "").length * font * 0.6, (patient ? 170 : 190 / z)) : 0;
    const dy = font ? (font + 4) / 2 : 0;
    return {x: p.x, y: p.y + dy, dy: dy, hw: Math.max(size, text) / 2 + 3, hh: (size + (font ? font + 6 : 0)) / 2 + 1};
  }

  // fcose keeps nodes apart on average; this pass removes what overlap is left (two clinics drawn
  // on top of each other) by pushing each overlapping pair apart along the axis that overlaps least.
  function separate(cy, z) {
    const nodes = cy.nodes().toArray();
    if (nodes.length > 800) return;
    const boxes = nodes.map(n => box(n, z));
    // Sweep by x: a pair can only overlap when their x ranges meet, so each box is compared with
    // the boxes after it in x order until one starts past its right edge.
    for (let round = 0; round < 40; round++) {
      let moved = false;
      const order = boxes.map((b, i) => i).sort((i, j) => (boxes[i].x - boxes[i].hw) - (boxes[j].x - boxes[j].hw));
      for (let oi = 0; oi < order.length; oi++) {
        const a = boxes[order[oi]];
        for (let oj = oi + 1; oj < order.length; oj++) {
          const b = boxes[order[oj]];
          if (b.x - b.hw >= a.x + a.hw) break;
          const ox = a.hw + b.hw - Math.abs(a.x - b.x), oy = a.hh + b.hh - Math.abs(a.y - b.y);
          if (ox <= 0 || oy <= 0) continue;
          moved = true;
          const alongX = ox < oy, push = (alongX ? ox : oy) / 2 + 0.5;
          const sign = (alongX ? a.x - b.x : a.y - b.y) >= 0 ? 1 : -1;
          const key = alongX ? "x" : "y";
          a[key] += sign * push; b[key] -= sign * push;
        }
      }
      if (!moved) break;
    }
    cy.batch(() => nodes.forEach((n, i) => n.position({x: boxes[i].x, y: boxes[i].y - boxes[i].dy})));
  }

  function fill(cy, w, h, pad) {
    const nodes = cy.nodes();
    if (nodes.length < 2) { cy.zoom(1); cy.center(); return; }
    const bb = nodes.boundingBox({includeLabels: false});
    const W = Math.max(w - 2 * pad - 120, 50), H = Math.max(h - 2 * pad - 40, 50);
    const bw = Math.max(bb.w, 1), bh = Math.max(bb.h, 1);
    // Never shrink an axis (nodes would overlap); stretch the short one to the canvas's proportions,
    // then grow both together until the drawing spans the canvas at zoom 1.
    // Spread at most 3 times fcose's spacing on an axis (1.8 under 6 nodes): a drawing, not scattered dots.
    const most = nodes.length < 6 ? 1.8 : 3;
    let sx = 1, sy = 1;
    if (bw / bh < W / H) sx = Math.min((W / H) / (bw / bh), most); else sy = Math.min((bw / bh) / (W / H), most);
    const grow = Math.max(1, Math.min(W / (bw * sx), H / (bh * sy)));
    sx = Math.min(sx * grow, Math.max(sx, most)); sy = Math.min(sy * grow, Math.max(sy, most));
    const cx = (bb.x1 + bb.x2) / 2, cyy = (bb.y1 + bb.y2) / 2;
    cy.batch(() => nodes.forEach(n => {
      const p = n.position();
      n.position({x: cx + (p.x - cx) * sx, y: cyy + (p.y - cyy) * sy});
    }));
    cy.zoom(1);
    cy.fit(cy.elements(), pad);
    if (cy.zoom() > 1) { cy.zoom(1); cy.center(); }
    cy.nodes("[tier = 'hub'], [tier = 'link'], .root").updateStyle();
  }

  // Make the instance reachable as window.shabakaGraphs[id] (tests read positions from it).
  function register(id, cy) { window.shabakaGraphs[id] = cy; readableLabels(cy); return cy; }

  function item(el, swatch, text, cls) {
    const s = document.createElement("span");
    s.className = "legend-item" + (cls ? " " + cls : "");
    s.appendChild(swatch);
    s.appendChild(document.createTextNode(text));
    el.appendChild(s);
  }

  function swatch(cls, colour, px) {
    const d = document.createElement("span");
    d.className = cls;
    if (colour) d.style.background = colour;
    if (px) { d.style.width = px + "px"; d.style.height = px + "px"; }
    return d;
  }

  // The legend under a graph, for what ``cy`` draws: its entity types (colour and shape, in TYPES
  // order), what size and width mean, and what dashes mean when some link has no amount.
  function legend(el, cy) {
    if (!el) return;
    el.innerHTML = "";
    const types = new Set(cy.nodes().map(n => n.data("type")));
    const shown = Object.keys(TYPES).filter(t => types.has(t));
    const shape = t => ({PROVIDER: "sq", DOCTOR: "sq", INTERMEDIARY: "diamond", REFERRER: "diamond",
                         PHONE: "hex", ACCOUNT: "hex", SUBMISSION_POINT: "hex"})[t] || "dot";
    shown.forEach(t => item(el, swatch("swatch " + shape(t), TYPES[t]), t.toLowerCase().replace("_", " ")));
    const sizes = document.createElement("span");
    sizes.className = "legend-sizes";
    [SIZES.patient[0], SIZES.link[0], SIZES.hub[0] + SIZES.hub[1] / 2].forEach(px => sizes.appendChild(swatch("swatch dot grey", null, Math.round(px / 2))));
    item(el, sizes, "size: role (recruiters, clinics and doctors large; patients small), then evidence score and amount", "legend-note");
    item(el, swatch("swatch line", null), "link width: amount claimed (MAD)", "legend-note");
    if (cy.edges("[money = 0]").nonempty()) item(el, swatch("swatch line dashed", null), "dashed: a link with no amount (such as a recruitment)", "legend-note");
  }

  // ``actions`` are extra nodes (buttons) appended under the rows, before the page link.
  function info(el, rows, link, actions) {
    el.innerHTML = "";
    const dl = document.createElement("dl");
    rows.forEach(([k, v]) => {
      if (v === undefined || v === null || v === "") return;
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v;
      dl.appendChild(dt); dl.appendChild(dd);
    });
    el.appendChild(dl);
    (actions || []).forEach(a => el.appendChild(a));
    if (link) {
      const a = document.createElement("a"); a.href = link; a.textContent = "Open this entity's page →";
      el.appendChild(a);
    }
  }

  function entityUrl(base, nodeId) { return base.replace("__NODE__", encodeURIComponent(nodeId).replace(/%3A/g, ":")); }

  return {TYPES, mad, prepare, style, layout, register, legend, info, entityUrl};
})();
