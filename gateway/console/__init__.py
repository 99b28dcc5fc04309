"""The operator console: hotline operators and supervisors, in a browser, served by the
gateway's own HTTP server (no build step: server-rendered HTML and one small script)."""
