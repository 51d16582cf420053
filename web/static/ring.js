// The ring page's graph: fetched from /api/rings/<id>, drawn with Cytoscape and the fcose layout.
"use strict";
(function () {
  const S = window.Shabaka;
  const box = document.getElementById("ring-graph");
  if (!box || typeof cytoscape === "undefined") return;
  const panel = document.getElementById("graph-info");
  fetch(box.dataset.src, {credentials: "same-origin"})
    .then(r => { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(data => {
      const elements = S.prepare(data.elements);
      const cy = S.register(box.id, cytoscape({container: box, elements: elements, style: S.style()}));
      S.legend(document.getElementById("legend"), cy);
      S.layout(cy, false);
      cy.on("tap", "node", evt => {
        const d = evt.target.data();
        S.info(panel, [["Type", d.type], ["Entity", d.label], ["Role", (d.role || "").replace(/_/g, " ")],
                       ["Score", d.score], ["Amount claimed in the ring", S.mad(d.amount)], ["Evidence", d.evidence]],
               S.entityUrl(box.dataset.entityBase, d.id));
      });
      cy.on("tap", "edge", evt => {
        const d = evt.target.data();
        S.info(panel, [["Link", d.edge_type], ["Claims", d.n_claims], ["Amount", S.mad(d.amount)]]);
      });
      box.dataset.ready = "1";
    })
    .catch(err => { panel.textContent = "The graph could not be loaded (" + err.message + ")."; });
})();
