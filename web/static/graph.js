// Shared Cytoscape helpers: style by type colour and amount, layout, legend, info panel.
// Each page's Cytoscape instance is kept in window.shabakaGraphs[<container id>] (see register) so
// end-to-end tests can read node positions and counts; nothing in the pages reads it back.
"use strict";
window.shabakaGraphs = window.shabakaGraphs || {};
window.Shabaka = (function () {
  const TYPES = {PROVIDER: "#1f5fa8", DOCTOR: "#2a9d8f", BENEFICIARY: "#e9a23b", INTERMEDIARY: "#c0392b",
                 PHONE: "#8e44ad", ACCOUNT: "#6d4c41", SUBMISSION_POINT: "#607d8b", REFERRER: "#d35400"};
  const fmt = new Intl.NumberFormat("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});

  function mad(x) { return fmt.format(Number(x || 0)) + " MAD"; }

  function style() {
    return [
      {selector: "node", style: {
        "background-color": "data(colour)", "label": "data(label)", "font-size": 11, "color": "#1d2733",
        "text-valign": "bottom", "text-halign": "center", "text-margin-y": 5,
        "text-background-color": "#ffffff", "text-background-opacity": 0.85, "text-background-padding": 2,
        "text-background-shape": "round-rectangle", "width": "data(size)", "height": "data(size)",
        "border-width": 1, "border-color": "#fff"}},
      {selector: "node[type = 'PROVIDER'], node[type = 'DOCTOR']", style: {"shape": "round-rectangle"}},
      {selector: "node[type = 'INTERMEDIARY']", style: {"shape": "diamond"}},
      {selector: "node:selected", style: {"border-width": 3, "border-color": "#14365c"}},
      {selector: "node.root", style: {"border-width": 3, "border-color": "#c0392b"}},
      {selector: "node.expanded", style: {"border-style": "double", "border-width": 4, "border-color": "#14365c"}},
      {selector: "node.root.expanded", style: {"border-color": "#c0392b"}},
      {selector: "edge", style: {"width": "data(width)", "line-color": "#b8c2cc", "curve-style": "bezier", "opacity": 0.8}},
      {selector: "edge:selected", style: {"line-color": "#14365c"}},
    ];
  }

  // Node size and edge width from amounts, on a square-root scale so one big clinic does not dwarf all.
  function sizeElements(cy) {
    const amounts = cy.nodes().map(n => n.data("amount") || 0);
    const top = Math.max(1, ...amounts);
    cy.nodes().forEach(n => n.data("size", 14 + 36 * Math.sqrt((n.data("amount") || 0) / top)));
    const eam = cy.edges().map(e => e.data("amount") || 0);
    const etop = Math.max(1, ...eam);
    cy.edges().forEach(e => e.data("width", 1 + 6 * Math.sqrt((e.data("amount") || 0) / etop)));
  }

  // Deterministic, label-aware spread: cose started from the current positions (randomize: false)
  // only jitters nodes that sit exactly on top of each other, so callers place nodes apart first.
  function spread(cy) {
    cy.layout({name: "cose", animate: false, randomize: false, fit: true, padding: 30,
               nodeDimensionsIncludeLabels: true, nodeRepulsion: () => 40000, idealEdgeLength: () => 90,
               nodeOverlap: 20, gravity: 0.5, numIter: 1500}).run();
  }

  // Make the instance reachable as window.shabakaGraphs[id] (tests read positions from it).
  function register(id, cy) { window.shabakaGraphs[id] = cy; return cy; }

  function legend(el) {
    if (!el) return;
    el.innerHTML = "";
    Object.entries(TYPES).forEach(([t, c]) => {
      const s = document.createElement("span");
      const d = document.createElement("span");
      d.className = "dot"; d.style.background = c;
      s.appendChild(d); s.appendChild(document.createTextNode(t.toLowerCase().replace("_", " ")));
      el.appendChild(s);
    });
    const note = document.createElement("span");
    note.className = "muted"; note.textContent = "· size and width: amount claimed (MAD)";
    el.appendChild(note);
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

  return {TYPES, mad, style, sizeElements, spread, register, legend, info, entityUrl};
})();
