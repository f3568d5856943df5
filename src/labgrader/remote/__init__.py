"""Typed queries to lab machines, one module per protocol. Plain Python, usable from a REPL; no pytest here.

Every helper opens at most one connection per host for its whole life and records each call as evidence
(what was asked, a trimmed answer) with every known secret redacted."""
