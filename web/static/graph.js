// Shared Cytoscape helpers: style by type colour and amount, legend, info panel.
"use strict";
window.Shabaka = (function () {
  const TYPES = {PROVIDER: "#1f5fa8", DOCTOR: "#2a9d8f", BENEFICIARY: "#e9a23b", INTERMEDIARY: "#c0392b",
                 PHONE: "#8e44ad", ACCOUNT: "#6d4c41", SUBMISSION_POINT: "#607d8b", REFERRER: "#d35400"};
  const fmt = new Intl.NumberFormat("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});

  function mad(x) { return fmt.format(Number(x || 0)) + " MAD"; }

  function style() {
    return [
      {selector: "node", style: {
        "background-color": "data(colour)", "label": "data(label)", "font-size": 9, "color": "#1d2733",
        "text-valign": "bottom", "text-margin-y": 3, "width": "data(size)", "height": "data(size)",
        "border-width": 1, "border-color": "#fff"}},
      {selector: "node[type = 'PROVIDER'], node[type = 'DOCTOR']", style: {"shape": "round-rectangle"}},
      {selector: "node[type = 'INTERMEDIARY']", style: {"shape": "diamond"}},
      {selector: "node:selected", style: {"border-width": 3, "border-color": "#14365c"}},
      {selector: "node.root", style: {"border-width": 3, "border-color": "#c0392b"}},
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

  function info(el, rows, link) {
    el.innerHTML = "";
    const dl = document.createElement("dl");
    rows.forEach(([k, v]) => {
      if (v === undefined || v === null || v === "") return;
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v;
      dl.appendChild(dt); dl.appendChild(dd);
    });
    el.appendChild(dl);
    if (link) {
      const a = document.createElement("a"); a.href = link; a.textContent = "Open this entity's page →";
      el.appendChild(a);
    }
  }

  function entityUrl(base, nodeId) { return base.replace("__NODE__", encodeURIComponent(nodeId).replace(/%3A/g, ":")); }

  return {TYPES, mad, style, sizeElements, legend, info, entityUrl};
})();
