// The ring page's graph: fetched from /api/rings/<id>, drawn with Cytoscape.
"use strict";
(function () {
  const S = window.Shabaka;
  const box = document.getElementById("ring-graph");
  if (!box || typeof cytoscape === "undefined") return;
  const panel = document.getElementById("graph-info");
  S.legend(document.getElementById("legend"));
  fetch(box.dataset.src, {credentials: "same-origin"})
    .then(r => { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(data => {
      const cy = S.register(box.id, cytoscape({container: box, elements: data.elements, style: S.style(),
                                                wheelSensitivity: 0.3}));
      S.sizeElements(cy);
      // A circle ordered by type then id gives cose the same distinct start on every load: stable pictures.
      cy.layout({name: "circle", animate: false, sort: (a, b) =>
        (a.data("type") + a.id()).localeCompare(b.data("type") + b.id())}).run();
      S.spread(cy);
      cy.on("tap", "node", evt => {
        const d = evt.target.data();
        S.info(panel, [["Type", d.type], ["Entity", d.label], ["Role", d.role], ["Score", d.score],
                       ["Amount claimed in the ring", S.mad(d.amount)], ["Evidence", d.evidence]],
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
