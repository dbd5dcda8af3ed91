"""Teaching content: lessons played as graded exercises, seeded exercise sets and the glossary.
Built on the simulator and its presentation; knows nothing of the web."""
