// The entity page: a neighbourhood that grows one hop per click, capped per expansion.
"use strict";
(function () {
  const S = window.Shabaka;
  const box = document.getElementById("nb-graph");
  if (!box || typeof cytoscape === "undefined") return;
  const status = document.getElementById("nb-status");
  const panel = document.getElementById("graph-info");
  const controls = document.getElementById("nb-controls");
  S.legend(document.getElementById("legend"));
  const root = box.dataset.node;
  let cy = null;
  const expanded = new Set();
  const omittedBy = {};

  function params() {
    const f = new FormData(controls);
    const q = new URLSearchParams({hops: "1", limit: f.get("limit") || "25"});
    if (f.get("from")) q.set("from", f.get("from"));
    if (f.get("to")) q.set("to", f.get("to"));
    return q;
  }

  function url(nodeId) {
    return box.dataset.api.replace("__NODE__", encodeURIComponent(nodeId).replace(/%3A/g, ":")) + "?" + params();
  }

  function summary() {
    const hidden = Object.values(omittedBy).reduce((a, b) => a + b, 0);
    status.textContent = cy.nodes().length + " nodes, " + cy.edges().length + " links shown" +
      (hidden ? "; " + hidden + " more not shown (raise 'Edges per click' or narrow the dates)" : "") + ".";
  }

  function expand(nodeId) {
    if (expanded.has(nodeId)) return Promise.resolve();
    status.textContent = "Loading…";
    return fetch(url(nodeId), {credentials: "same-origin"})
      .then(r => r.json().then(body => { if (!r.ok) throw new Error(body.detail || r.status); return body; }))
      .then(data => {
        expanded.add(nodeId);
        omittedBy[nodeId] = data.omitted || 0;
        const at = cy.getElementById(nodeId);
        const pos = at.nonempty() ? at.position() : {x: 0, y: 0};
        const add = [];
        data.nodes.forEach(n => { if (cy.getElementById(n.id).empty()) add.push({group: "nodes", data: {...n, amount: 0}, position: {x: pos.x + Math.random() * 80 - 40, y: pos.y + Math.random() * 80 - 40}}); });
        data.edges.forEach(e => { if (cy.getElementById(e.id).empty()) add.push({group: "edges", data: e}); });
        cy.add(add);
        data.edges.forEach(e => {
          [e.source, e.target].forEach(id => { const n = cy.getElementById(id); n.data("amount", Math.max(n.data("amount") || 0, e.amount)); });
        });
        cy.getElementById(nodeId).data("more", data.omitted || 0);
        S.sizeElements(cy);
        cy.layout({name: "cose", animate: false, randomize: false, fit: true, nodeRepulsion: 8000}).run();
        summary();
        box.dataset.ready = "1";
      })
      .catch(err => { status.textContent = "Could not load the neighbourhood: " + err.message; });
  }

  function start() {
    if (cy) cy.destroy();
    expanded.clear();
    Object.keys(omittedBy).forEach(k => delete omittedBy[k]);
    cy = cytoscape({container: box, style: S.style(), wheelSensitivity: 0.3});
    cy.add({group: "nodes", data: {id: root, label: root.split(":").slice(1).join(":"), type: root.split(":")[0],
                                   colour: S.TYPES[root.split(":")[0]] || "#999", amount: 0}, classes: "root"});
    cy.on("tap", "node", evt => {
      const d = evt.target.data();
      S.info(panel, [["Type", d.type], ["Entity", d.entity_id || d.label], ["Name", d.label !== d.entity_id ? d.label : ""],
                     ["Heaviest link amount", S.mad(d.amount)], ["More links not shown", d.more || ""]],
             S.entityUrl(box.dataset.entityBase, d.id));
      expand(d.id);
    });
    cy.on("dbltap", "node", evt => { window.location = S.entityUrl(box.dataset.entityBase, evt.target.id()); });
    return expand(root);
  }

  controls.addEventListener("submit", ev => { ev.preventDefault(); start(); });
  document.getElementById("nb-reset").addEventListener("click", () => { controls.reset(); start(); });
  start();
})();
