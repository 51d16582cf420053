// The entity page: a neighbourhood that grows one hop at a time, capped per expansion.
// Click a node: select it and show its details (with an Expand button). Double-click: expand it.
// The container carries data-ready="1" once a load has finished and data-expansions=<count> (for tests).
"use strict";
(function () {
  const S = window.Shabaka;
  const box = document.getElementById("nb-graph");
  if (!box || typeof cytoscape === "undefined") return;
  const status = document.getElementById("nb-status");
  const panel = document.getElementById("graph-info");
  const controls = document.getElementById("nb-controls");
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
    // A longer status line can push the graph down; Cytoscape caches where its container is, and
    // clicks would land beside the nodes until it is told to measure again.
    cy.resize();
  }

  function details(node) {
    const d = node.data();
    const button = document.createElement("button");
    button.type = "button"; button.className = "btn"; button.id = "nb-expand";
    button.textContent = expanded.has(d.id) ? "Expanded" : "Expand (add its links)";
    button.disabled = expanded.has(d.id);
    button.addEventListener("click", () => expand(d.id));
    S.info(panel, [["Type", d.type], ["Entity", d.entity_id || d.label], ["Name", d.label !== d.entity_id ? d.label : ""],
                   ["Heaviest link amount", S.mad(d.amount)], ["More links not shown", d.more || ""]],
           S.entityUrl(box.dataset.entityBase, d.id), [button]);
  }

  // New neighbours go on a circle around the node they came from, in id order: no randomness, so the
  // cose layout that follows draws the same picture for the same data.
  function placeAround(pos, ids) {
    const r = 60 + 6 * ids.length;
    return ids.map((id, i) => ({x: pos.x + r * Math.cos(2 * Math.PI * i / ids.length),
                                y: pos.y + r * Math.sin(2 * Math.PI * i / ids.length)}));
  }

  function expand(nodeId) {
    if (expanded.has(nodeId)) return Promise.resolve();
    status.textContent = "Loading…";
    box.dataset.ready = "0";
    return fetch(url(nodeId), {credentials: "same-origin"})
      .then(r => r.json().then(body => { if (!r.ok) throw new Error(body.detail || r.status); return body; }))
      .then(data => {
        expanded.add(nodeId);
        omittedBy[nodeId] = data.omitted || 0;
        const at = cy.getElementById(nodeId);
        const fresh = data.nodes.filter(n => cy.getElementById(n.id).empty()).sort((a, b) => a.id.localeCompare(b.id));
        const spots = placeAround(at.nonempty() ? at.position() : {x: 0, y: 0}, fresh.map(n => n.id));
        const add = fresh.map((n, i) => ({group: "nodes", data: {...n, amount: 0}, position: spots[i]}));
        data.edges.forEach(e => { if (cy.getElementById(e.id).empty()) add.push({group: "edges", data: {...e}}); });
        // Sizes and widths are computed over the whole drawing (old and new elements) before adding.
        const all = cy.elements().map(el => ({group: el.group(), data: {...el.data()}})).concat(add);
        const byId = new Map(all.map(el => [el.data.id, el]));
        data.edges.forEach(e => {
          [e.source, e.target].forEach(id => { const n = byId.get(id); if (n) n.data.amount = Math.max(n.data.amount || 0, e.amount); });
        });
        S.prepare(all);
        cy.batch(() => {
          cy.add(add);
          all.forEach(el => { const c = cy.getElementById(el.data.id);
            ["amount", "size", "width", "tier", "money"].forEach(k => { if (k in el.data) c.data(k, el.data[k]); }); });
        });
        const node = cy.getElementById(nodeId);
        node.data("more", data.omitted || 0).addClass("expanded");
        S.legend(document.getElementById("legend"), cy);
        S.layout(cy, true);
        summary();
        if (node.selected()) details(node);
        box.dataset.expansions = String(expanded.size);
        box.dataset.ready = "1";
      })
      .catch(err => { status.textContent = "Could not load the neighbourhood: " + err.message; cy.resize(); });
  }

  function start() {
    if (cy) cy.destroy();
    expanded.clear();
    Object.keys(omittedBy).forEach(k => delete omittedBy[k]);
    box.dataset.ready = "0";
    box.dataset.expansions = "0";
    cy = S.register(box.id, cytoscape({container: box, style: S.style()}));
    const first = S.prepare([{group: "nodes", data: {id: root, label: root.split(":").slice(1).join(":"),
                                                     type: root.split(":")[0], amount: 0, root: 1}, classes: "root"}]);
    cy.add(first);
    S.legend(document.getElementById("legend"), cy);
    cy.on("tap", "node", evt => { cy.elements().unselect(); evt.target.select(); details(evt.target); });
    cy.on("dbltap", "node", evt => expand(evt.target.id()));
    cy.on("tap", "edge", evt => {
      const d = evt.target.data();
      S.info(panel, [["Link", d.edge_type], ["Claims", d.n_claims], ["Amount", S.mad(d.amount)],
                     ["First", d.first_date], ["Last", d.last_date]]);
    });
    return expand(root);
  }

  controls.addEventListener("submit", ev => { ev.preventDefault(); start(); });
  document.getElementById("nb-reset").addEventListener("click", () => { controls.reset(); start(); });
  start();
})();
