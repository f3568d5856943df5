"""GLPI 10.0 double (REST API and native inventory) for the tests; see FIDELITY.md."""
