"""The typed claims graph: building, projections, inferred intermediaries, stores
(embedded SQLite and Neo4j), neighbourhood queries and serialisation."""
